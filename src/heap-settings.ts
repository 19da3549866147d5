import { setFlagsFromString } from 'node:v8';

/**
 * V8's young generation kept at its initial size (two 1 MiB semi-spaces) instead of growing to
 * 16 MiB semi-spaces (48 MiB committed with the copy space) on the first bursts of start-up or
 * load, which V8 does not give back when idle. A request's garbage is a few kilobytes and dies
 * young, so a small young generation costs more frequent, shorter scavenges; measured in
 * bench/README.md ("Start-up and memory") for memory and with the gate for throughput.
 *
 * Only the growth factor can still change once V8 is running (--max-semi-space-size is read
 * when the heap is set up), so this is it. An operator's own setting of either flag (on the
 * command line or in NODE_OPTIONS) wins.
 */
export const SEMI_SPACE_GROWTH_FACTOR = 1;

// V8 takes flags with dashes or underscores.
const OPERATOR_FLAGS = ['semi-space-growth-factor', 'max-semi-space-size', 'semi_space_growth_factor', 'max_semi_space_size'];

function chosenByOperator(): boolean {
  const given = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ');
  return OPERATOR_FLAGS.some((flag) => given.includes(flag));
}

if (!chosenByOperator()) setFlagsFromString(`--semi-space-growth-factor=${SEMI_SPACE_GROWTH_FACTOR}`);
