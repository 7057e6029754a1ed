// The page's part of a Python program's workers (see program.rs): the Python VM's own
// module (pkg-vm/, docs/python-vm.md §8.4), compiled once on the first Run; a program
// process's boot once it is; thread workers that instantiate it on the process's shared
// memory; and the kill word the page sets in that memory.

// `{ compiled: Promise<WebAssembly.Module>, module }`, from the first Run on.
let vm = null;

// The VM's glue, beside the page's: `pkg/threadlab.js` -> `pkg-vm/threadlab_vm.js`.
export function vmGlueUrl(pageGlueUrl) {
  return new URL("../pkg-vm/threadlab_vm.js", pageGlueUrl).href;
}

function loadVm(pageGlueUrl) {
  if (vm === null) {
    const url = new URL("../pkg-vm/threadlab_vm_bg.wasm", pageGlueUrl);
    const loading = { module: undefined };
    loading.compiled = WebAssembly.compileStreaming(fetch(url))
      // A host that serves .wasm with another type: compile the bytes.
      .catch(async (streaming) => {
        const response = await fetch(url);
        if (!response.ok) throw new Error(`${url}: ${response.status} ${response.statusText} (${streaming})`);
        return WebAssembly.compile(await response.arrayBuffer());
      })
      .then((module) => (loading.module = module));
    // A failure is not kept: the next Run tries again.
    loading.compiled.catch(() => {
      if (vm === loading) vm = null;
    });
    vm = loading;
  }
  return vm.compiled;
}

// Whether a Run has asked for the VM yet (the page warms no process before that).
export function vmRequested() {
  return vm !== null;
}

// The compiled VM, once it is (a process says Ready only after that).
export function vmModule() {
  return vm?.module;
}

// Posts a program process's boot, with the compiled VM, to `worker` (started by spawnWorker
// on the VM's glue); if the VM cannot be had, the worker "says" spawn.js's Failed.
export function bootWithVm(pageGlueUrl, worker, boot) {
  loadVm(pageGlueUrl).then(
    (module) => {
      boot.module = module;
      worker.postMessage(boot);
    },
    (e) => {
      const message = "the Python VM (pkg-vm/) could not be loaded: " + e;
      worker.dispatchEvent(new MessageEvent("message", { data: { type: "Failed", message } }));
    },
  );
}

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

// Copies `count` words from byte `addr` of a process's memory (its live board), or
// nothing when the memory is not that long (a process that ended).
export function readWords(memory, addr, count) {
  const words = new Uint32Array(memory.buffer);
  const at = addr >>> 2;
  return at + count <= words.length ? words.slice(at, at + count) : new Uint32Array(0);
}
