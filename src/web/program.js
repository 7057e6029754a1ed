// The page's part of a Python program's threads (see program.rs): thread workers that
// instantiate the page's compiled module on the program process's shared memory, and the
// kill word the page sets in that memory.

let threadScript = null;

function threadScriptUrl(glueUrl) {
  if (threadScript === null) {
    const source = `import { initSync, program_thread_main } from ${JSON.stringify(glueUrl)};
self.addEventListener("message", ({ data }) => {
  let wasm;
  try {
    // The plain-object form: the positional one warns and cannot set the stack size.
    wasm = initSync({ module: data.module, memory: data.memory, thread_stack_size: data.stack });
  } catch (e) {
    // ProgramLetter::Failed, by hand: runtime.rs's letters_have_the_shape_program_js_writes checks it.
    self.postMessage({ Failed: { message: "a thread worker could not start: " + e } });
    return;
  }
  // Parks in the pool and runs the program's threads until the page terminates this
  // worker; it returns only when the pool already had a worker per slot. A trap (a panic)
  // is thrown from here and reaches the page as this worker's error event.
  program_thread_main(data.arena);
  wasm.__wbindgen_thread_destroy();
  self.close();
}, { once: true });
`;
    threadScript = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  }
  return threadScript;
}

export function spawnProgramThread(glueUrl, name, module, memory, arena, stackBytes) {
  const worker = new Worker(threadScriptUrl(glueUrl), { type: "module", name });
  worker.postMessage({ module, memory, arena, stack: stackBytes });
  return worker;
}

// Sets the 32-bit word at byte `addr` of `memory` and wakes whoever waits on it. The view is
// made each time: the memory's buffer is replaced whenever it grows.
export function setWord(memory, addr, value) {
  const words = new Int32Array(memory.buffer);
  Atomics.store(words, addr >>> 2, value);
  Atomics.notify(words, addr >>> 2);
}

// Sets word `index` of a SharedArrayBuffer (a program's arena) and wakes its waiters.
export function setSabWord(sab, index, value) {
  const words = new Int32Array(sab);
  Atomics.store(words, index, value);
  Atomics.notify(words, index);
}
