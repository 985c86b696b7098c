// '+'-joined roles: split once per role string, the parts in order.
import { describe, expect, it } from 'vitest';
import { roleParts } from '../../src/scenarios/roles.ts';

describe('roleParts', () => {
  it('splits a joined role into its parts, once per role string', () => {
    expect(roleParts('reader+zapper+reclaimer')).toEqual(['reader', 'zapper', 'reclaimer']);
    expect(roleParts('mapper')).toEqual(['mapper']);
    expect(roleParts('reader+zapper+reclaimer')).toBe(roleParts('reader+zapper+reclaimer'));
  });
});
