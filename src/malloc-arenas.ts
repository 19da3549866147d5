/**
 * glibc's malloc gives every thread that allocates (V8's compiler and garbage-collector helpers,
 * libuv's pool hashing passwords with argon2 at 19 MiB a hash) an arena of its own, up to eight
 * per core, and keeps what they freed resident: about 40 MiB more after a burst of load than
 * with two arenas (bench/README.md, "Start-up and memory"). glibc reads MALLOC_ARENA_MAX only as a
 * process starts, so when it is unset the server starts itself again, once and in place, with it
 * set: execve keeps the pid, the open files and the parent, so signals, pipes and a supervisor
 * see one process. The image sets the variable itself, and an operator's own value (any value)
 * wins. Nothing happens elsewhere than Linux or on a Node without process.execve, nor under a
 * parent that talks to the process over an IPC channel, which a new program would not inherit,
 * nor when something ran before this module that would run twice: a preloaded module (--import,
 * --require, in the arguments or NODE_OPTIONS, such as an agent) or the inspector. The variable
 * must be in the process's own environment: a .env file is read too late for glibc.
 */
export const MALLOC_ARENAS = '2';

/** Options under which code ran before the entry, or a debugger waits: starting again repeats them. */
const RAN_BEFORE_ENTRY = /(?:^|\s)(?:--import|--require|-r|--inspect[\w-]*|--experimental-loader|--loader)(?:[=\s]|$)/;

function restartWithArenaCap(): void {
  if (process.platform !== 'linux' || process.env.MALLOC_ARENA_MAX !== undefined) return;
  if (typeof process.execve !== 'function' || process.channel !== undefined) return;
  if (RAN_BEFORE_ENTRY.test([...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' '))) return;
  try {
    process.execve(process.execPath, [process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
      ...process.env,
      MALLOC_ARENA_MAX: MALLOC_ARENAS,
    });
  } catch {
    // Not allowed here (a permission model, a seccomp policy): the server runs as it is, with
    // glibc's default arenas; a start never fails for this.
  }
}

restartWithArenaCap();
