// `::output` lines cannot be forged by data (issue 8 item 8). A parameter holding
// "\n::output injected=1", echoed by a step, must set nothing: only the lines the book's author
// wrote (`echo ::output key=value` in `run` or `argv`) and lines carrying the attempt's token
// from QUIRE_OUTPUT_TOKEN (what a script prints) set outputs. Run by a real worker, read back
// from the stored step rows, and through a later step that reads the outputs.
import { QuireCluster, inventory } from '../support/processes.js';

const book = `name: svc.echo
kind: svc
action: echo
unique: none
params:
  type: object
  required: [msg]
  properties: { msg: { type: string } }
steps:
  - name: forged
    kind: shell
    run: "echo {{params.msg}}"
  - name: forged-argv
    kind: shell
    argv: [printf, "%s\\\\n", "{{params.msg}}"]
  - name: authored
    kind: shell
    run: |
      echo {{params.msg}}
      echo ::output release={{params.msg}}
      echo "::output quoted=yes"
      printf '::output printed=%s\\n' 7
  - name: literal
    kind: shell
    run: "echo ::output plain=1"
  - name: authored-argv
    kind: shell
    argv: [echo, "::output via_argv=1"]
  - name: script
    kind: shell
    run: "sh -c 'echo \\"::output::$QUIRE_OUTPUT_TOKEN from_script=1\\"; echo \\"::output::wrong from_guess=1\\"'"
  - name: reader
    kind: shell
    run: "echo got {{default steps.forged.output.injected 'nothing'}}"
`;

describe('engine: ::output lines cannot be forged through a parameter', () => {
  let cluster: QuireCluster;

  beforeAll(async () => {
    cluster = await QuireCluster.start({ books: { 'inventory.yaml': inventory('svc', 1), 'svc.echo.book.yaml': book } });
    await cluster.serve();
    await cluster.worker('forgery');
  }, 60_000);

  afterAll(async () => {
    await cluster?.close();
  });

  it('sets outputs from authored lines and the token only', async () => {
    const msg = 'hello\n::output injected=1\n::output release=evil';
    const jobId = await cluster.trigger('d1', 'echo', { msg });
    const job = await cluster.finished(jobId, 45_000);
    expect({ state: job.state, error: job.error }).toEqual({ state: 'done', error: null });
    const outputs = Object.fromEntries((await cluster.steps(jobId)).map((s) => [s.name, s.outputs]));

    // the parameter's lines reached stdout, and set nothing
    expect((await cluster.step(jobId, 'forged')).output).toContain('::output injected=1');
    expect(outputs.forged).toEqual({});
    expect(outputs['forged-argv']).toEqual({});
    // the author's lines still work; a value from the parameter lands in the value only
    expect(outputs.authored).toEqual({ release: msg.split('\n')[0], quoted: 'yes', printed: '7' });
    expect(outputs.literal).toEqual({ plain: '1' });
    expect(outputs['authored-argv']).toEqual({ via_argv: '1' });
    expect(outputs.script).toEqual({ from_script: '1' });
    expect((await cluster.step(jobId, 'reader')).output).toBe('got nothing\n');
    // the stored output shows the author's form, never the attempt's token
    const authored = (await cluster.step(jobId, 'authored')).output;
    expect(authored).toContain('::output release=hello\n::output injected=1\n');
    expect(authored).toContain('::output quoted=yes\n');
    for (const step of await cluster.steps(jobId)) expect({ step: step.name, token: /::output::[0-9a-f]{32}/.test(step.output) }).toEqual({ step: step.name, token: false });
  }, 60_000);
});
