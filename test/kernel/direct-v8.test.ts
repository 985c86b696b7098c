// directV8Flags() (src/kernel/direct.ts): what a free-mode worker asks of V8 for the direct form,
// once per thread, and nothing with PAGELOCK_DIRECT_V8=off.
import { afterEach, describe, expect, it, vi } from 'vitest';

const setFlagsFromString = vi.fn();
vi.mock('node:v8', () => ({ setFlagsFromString, default: { setFlagsFromString } }));

describe('directV8Flags', () => {
  afterEach(() => {
    delete process.env.PAGELOCK_DIRECT_V8;
    setFlagsFromString.mockClear();
  });

  it('leaves V8 alone with PAGELOCK_DIRECT_V8=off, and sets the inlining budget once otherwise', async () => {
    vi.resetModules();
    const { directV8Flags, DIRECT_INLINE_BUDGET, DIRECT_V8_ENV } = await import('../../src/kernel/direct.ts');
    process.env[DIRECT_V8_ENV] = 'off';
    expect(directV8Flags()).toBe(false);
    expect(setFlagsFromString).not.toHaveBeenCalled();
    delete process.env[DIRECT_V8_ENV];
    expect(directV8Flags()).toBe(true);
    expect(directV8Flags()).toBe(true);
    expect(setFlagsFromString).toHaveBeenCalledTimes(1);
    expect(setFlagsFromString).toHaveBeenCalledWith(`--max-inlined-bytecode-size-cumulative=${DIRECT_INLINE_BUDGET}`);
    // above V8 11's default of 920, which cannot hold both halves of the uncontended pair
    expect(DIRECT_INLINE_BUDGET).toBeGreaterThan(920);
  });
});
