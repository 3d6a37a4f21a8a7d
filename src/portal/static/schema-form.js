// A form generated from a book's `params` JSON Schema: string, number, integer, boolean and
// enum fields with defaults, required markers and pattern/range hints; other types take JSON.
// The API validates (the form is `novalidate`); its 400 details are shown next to the fields.
import { h, uid, setText } from './dom.js';

function typeOf(schema) {
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  if (Array.isArray(schema.enum) && schema.enum.length) return 'enum';
  if (schema.const !== undefined) return 'enum';
  if (['string', 'number', 'integer', 'boolean'].includes(type)) return type;
  if (!type && typeof schema.default === 'string') return 'string';
  return 'json';
}

function hintsOf(schema, type) {
  const hints = [];
  if (schema.pattern) hints.push(`Pattern: ${schema.pattern}`);
  if (schema.format) hints.push(`Format: ${schema.format}`);
  if (schema.minLength !== undefined || schema.maxLength !== undefined)
    hints.push(`Length: ${schema.minLength ?? 0}–${schema.maxLength ?? '∞'}`);
  const min = schema.minimum ?? schema.exclusiveMinimum;
  const max = schema.maximum ?? schema.exclusiveMaximum;
  if (min !== undefined || max !== undefined) hints.push(`Range: ${min ?? '−∞'}–${max ?? '∞'}`);
  if (type === 'integer') hints.push('Whole number');
  if (type === 'json') hints.push(`JSON${schema.type ? ` (${[].concat(schema.type).join(' or ')})` : ''}`);
  if (schema.default !== undefined && type !== 'boolean')
    hints.push(`Default: ${typeof schema.default === 'string' ? schema.default : JSON.stringify(schema.default)}`);
  return hints;
}

/**
 * The properties in the order the book's author wrote them. The API's copy of the schema comes
 * from a jsonb column, which reorders object keys; the book's YAML source keeps the order, so
 * each name is looked up there (after `params:` and its `properties:`). Names not found keep
 * the API's order, after the others.
 */
export function authoredOrder(source, names) {
  if (typeof source !== 'string') return names;
  const params = source.search(/^\s*params\s*:/m);
  if (params < 0) return names;
  const fromParams = source.slice(params);
  const properties = fromParams.search(/properties\s*:/);
  const text = properties < 0 ? fromParams : fromParams.slice(properties);
  const escape = (name) => name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const position = (name) => {
    const match = new RegExp(`(^|[\\s{,])["']?${escape(name)}["']?\\s*:`, 'm').exec(text);
    return match ? match.index : Number.MAX_SAFE_INTEGER;
  };
  return [...names].sort((a, b) => position(a) - position(b));
}

export function schemaForm(paramsSchema, { source } = {}) {
  const schema = paramsSchema && typeof paramsSchema === 'object' ? paramsSchema : {};
  const given = schema.properties && typeof schema.properties === 'object' ? schema.properties : {};
  const properties = Object.fromEntries(authoredOrder(source, Object.keys(given)).map((name) => [name, given[name]]));
  const required = new Set(Array.isArray(schema.required) ? schema.required : []);
  const fields = [];
  const container = h('div', { class: 'fields' });

  for (const [name, raw] of Object.entries(properties)) {
    const prop = raw && typeof raw === 'object' ? raw : {};
    const type = typeOf(prop);
    const id = uid(`param-${name.replace(/[^A-Za-z0-9_-]/g, '_')}`);
    const hintId = `${id}-hint`;
    const errorId = `${id}-error`;
    const isRequired = required.has(name);
    const title = prop.title ?? name;
    const label = h(
      'label',
      { for: id },
      h('span', { class: 'field-name', text: title }),
      title !== name ? h('code', { class: 'field-key', text: name }) : null,
      isRequired ? h('span', { class: 'required', 'aria-hidden': 'true', title: 'required', text: '*' }) : null,
      isRequired ? h('span', { class: 'visually-hidden', text: ' (required)' }) : null,
    );
    const describedBy = [hintId, errorId].join(' ');
    let input;
    let enumValues = null;
    if (type === 'boolean') {
      input = h('input', { id, type: 'checkbox', name, checked: prop.default === true, 'aria-describedby': describedBy });
    } else if (type === 'enum') {
      enumValues = Array.isArray(prop.enum) ? prop.enum : [prop.const];
      input = h('select', { id, name, required: isRequired, 'aria-describedby': describedBy });
      const hasDefault = prop.default !== undefined && enumValues.some((v) => JSON.stringify(v) === JSON.stringify(prop.default));
      if (!hasDefault) input.append(h('option', { value: '', text: isRequired ? '— choose —' : '— not set —' }));
      enumValues.forEach((value, index) => {
        input.append(
          h('option', {
            value: String(index),
            text: typeof value === 'string' ? value : JSON.stringify(value),
            selected: hasDefault && JSON.stringify(value) === JSON.stringify(prop.default),
          }),
        );
      });
    } else if (type === 'number' || type === 'integer') {
      input = h('input', {
        id,
        name,
        type: 'number',
        inputmode: type === 'integer' ? 'numeric' : 'decimal',
        step: type === 'integer' ? (prop.multipleOf ?? 1) : (prop.multipleOf ?? 'any'),
        min: prop.minimum,
        max: prop.maximum,
        value: typeof prop.default === 'number' ? prop.default : undefined,
        required: isRequired,
        'aria-describedby': describedBy,
      });
    } else if (type === 'string') {
      const secret = prop.format === 'password' || prop.writeOnly === true;
      input = h('input', {
        id,
        name,
        type: secret ? 'password' : 'text',
        value: typeof prop.default === 'string' ? prop.default : undefined,
        placeholder: prop.examples?.[0] !== undefined ? String(prop.examples[0]) : undefined,
        pattern: prop.pattern,
        minlength: prop.minLength,
        maxlength: prop.maxLength,
        required: isRequired,
        autocomplete: 'off',
        spellcheck: 'false',
        'aria-describedby': describedBy,
      });
    } else {
      input = h('textarea', {
        id,
        name,
        rows: 3,
        spellcheck: 'false',
        required: isRequired,
        'aria-describedby': describedBy,
        value: prop.default !== undefined ? JSON.stringify(prop.default, null, 2) : undefined,
      });
    }
    const hints = hintsOf(prop, type);
    const hint = h(
      'p',
      { id: hintId, class: 'field-hint' },
      prop.description ? h('span', { text: prop.description }) : null,
      hints.length ? h('span', { class: 'field-rules', text: hints.join(' · ') }) : null,
    );
    const error = h('p', { id: errorId, class: 'field-error', hidden: true });
    const field = h(
      'div',
      { class: ['field', `field-${type}`], dataset: { param: name } },
      type === 'boolean' ? h('div', { class: 'check' }, input, label) : [label, input],
      hint,
      error,
    );
    container.append(field);
    fields.push({ name, type, input, error, enumValues, required: isRequired });
  }

  if (fields.length === 0) container.append(h('p', { class: 'muted', text: 'This action takes no parameters.' }));

  /** The params to send, and problems found before sending (JSON that does not parse, ...). */
  function read() {
    const params = {};
    const problems = [];
    for (const f of fields) {
      if (f.type === 'boolean') params[f.name] = f.input.checked;
      else if (f.type === 'enum') {
        if (f.input.value !== '') params[f.name] = f.enumValues[Number(f.input.value)];
      } else if (f.type === 'number' || f.type === 'integer') {
        if (f.input.validity?.badInput) problems.push({ field: `params.${f.name}`, message: 'must be a number' });
        else if (f.input.value !== '') params[f.name] = Number(f.input.value);
      } else if (f.type === 'string') {
        if (f.input.value !== '') params[f.name] = f.input.value;
      } else if (f.input.value.trim() !== '') {
        try {
          params[f.name] = JSON.parse(f.input.value);
        } catch (e) {
          problems.push({ field: `params.${f.name}`, message: `is not valid JSON (${e.message})` });
        }
      }
    }
    return { params, problems };
  }

  function clearErrors() {
    for (const f of fields) {
      f.error.hidden = true;
      setText(f.error, '');
      f.input.removeAttribute('aria-invalid');
    }
  }

  /** Shows each detail next to its field; returns the ones that name no field. */
  function showErrors(details) {
    clearErrors();
    const rest = [];
    let first = null;
    for (const detail of details ?? []) {
      const path = String(detail.field ?? '');
      const name = path.startsWith('params.') ? path.slice('params.'.length).split('.')[0] : path;
      const f = fields.find((x) => x.name === name);
      if (!f) {
        rest.push(detail);
        continue;
      }
      // "params.release: must match pattern ..." -> "must match pattern ..."
      const message = String(detail.message ?? 'is invalid').replace(/^[^\s:]+:\s*/, '');
      setText(f.error, f.error.textContent ? `${f.error.textContent}; ${message}` : message);
      f.error.hidden = false;
      f.input.setAttribute('aria-invalid', 'true');
      first ??= f.input;
    }
    first?.focus();
    return rest;
  }

  return { element: container, read, showErrors, clearErrors };
}
