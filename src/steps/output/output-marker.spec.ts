import { MarkerDisplay, markAuthoredOutputs, newOutputToken, outputPrefix } from './output-marker.js';

describe('output markers', () => {
  it('gives each attempt a new 128-bit hex token', () => {
    const [a, b] = [newOutputToken(), newOutputToken()];
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(a).not.toBe(b);
  });

  it('tokenises every authored `::output ` and nothing else', () => {
    expect(markAuthoredOutputs('echo ::output a=1 && printf "::output b=%s" 2; echo ::outputs', 'T')).toBe(
      'echo ::output::T a=1 && printf "::output::T b=%s" 2; echo ::outputs',
    );
  });

  describe('MarkerDisplay', () => {
    const T = 'f00d';
    const stream = `start\n${outputPrefix(T)}a=1\n::output forged=1\nx ${outputPrefix(T)}b=2\n::out\n${outputPrefix(T)}last=end`;
    const shown = `start\n::output a=1\n::output forged=1\nx ${outputPrefix(T)}b=2\n::out\n::output last=end`;

    it('shows tokenised markers at line starts as authored, wherever the chunks are cut', () => {
      for (let cut = 0; cut <= stream.length; cut++) {
        for (let cut2 = cut; cut2 <= stream.length; cut2 += 7) {
          const display = new MarkerDisplay(T);
          const out = display.push(stream.slice(0, cut)) + display.push(stream.slice(cut, cut2)) + display.push(stream.slice(cut2)) + display.flush();
          expect(out).toBe(shown);
        }
      }
    });

    it('holds back only a line start that may still become the marker', () => {
      const display = new MarkerDisplay(T);
      expect(display.push('building\n::out')).toBe('building\n');
      expect(display.push('side\n')).toBe('::outside\n');
      expect(display.push('plain text')).toBe('plain text');
      expect(display.flush()).toBe('');
    });
  });
});
