//! A pickle-like copy of values between two heaps, as bytes (docs/python-vm.md §5): what
//! crosses between processes (a target and its arguments, results, queue items). Not
//! CPython's pickle format — both ends are ThreadLab's — but CPython's rules for what may
//! cross, refused with CPython 3.11's words: functions and classes go **by reference**
//! (their qualified name, looked up again in the receiving process's main module, so a
//! lambda or a nested function cannot cross), instances as their class's reference plus
//! their `__dict__`, exceptions as their class and `args`.

use super::super::builtins::NATIVES;
use super::super::heap::{Attrs, Instance, Obj, ObjRef, Value};
use super::super::vm::{Flow, Vm, R};

/// Nesting past which a value is refused (a list that contains itself never ends).
const MAX_DEPTH: usize = 500;

mod tag {
    pub const NONE: u8 = b'N';
    pub const TRUE: u8 = b'T';
    pub const FALSE: u8 = b'F';
    pub const INT: u8 = b'i';
    /// An int beyond i64: its hex text (`-0x...`).
    pub const BIG: u8 = b'I';
    pub const FLOAT: u8 = b'f';
    pub const STR: u8 = b's';
    pub const TUPLE: u8 = b't';
    pub const LIST: u8 = b'l';
    pub const DICT: u8 = b'd';
    pub const SET: u8 = b'S';
    pub const FROZENSET: u8 = b'Z';
    pub const RANGE: u8 = b'r';
    pub const ELLIPSIS: u8 = b'E';
    /// A module-level function or class of the main module: its qualified name.
    pub const GLOBAL: u8 = b'G';
    /// A builtin (a type, an exception class, a function such as `pow`): its name.
    pub const BUILTIN: u8 = b'B';
    /// A class of ThreadLab's own modules (`multiprocessing.TimeoutError`, …).
    pub const MODULE_CLASS: u8 = b'M';
    pub const INSTANCE: u8 = b'O';
    pub const EXCEPTION: u8 = b'X';
    /// A `multiprocessing.Queue`: its channel.
    pub const QUEUE: u8 = b'Q';
    /// A `Pipe()` end: the channels it receives on and sends on (0: none).
    pub const CONNECTION: u8 = b'C';
    pub const BYTES: u8 = b'b';
    /// `random.Random` (vm::random), and a generator's state: its words and index.
    pub const RANDOM_CLASS: u8 = b'R';
    pub const RANDOM_STATE: u8 = b'm';
}

/// The class behind `pickle.PicklingError` (made with the `pickle` module).
fn pickling_error(vm: &mut Vm<'_>, msg: String) -> Flow {
    match super::module_class(vm, "PicklingError") {
        Some(cls) => {
            let m = vm.new_str(msg);
            Flow::Exc(super::super::builtins::new_exception(vm, cls, vec![m]))
        }
        None => vm.exc("RuntimeError", &msg),
    }
}

fn cannot(vm: &mut Vm<'_>, what: &str) -> Flow {
    vm.exc("TypeError", &format!("cannot pickle '{what}' object"))
}

/// The module a value defined by the program belongs to (`__main__`, or `__mp_main__` in a child).
#[must_use]
pub fn main_name(vm: &Vm<'_>) -> String {
    vm.i.global_names
        .index
        .get("__name__")
        .and_then(|&slot| vm.i.globals.get(slot as usize).copied())
        .and_then(|v| vm.as_str(v).map(str::to_owned))
        .unwrap_or_else(|| "__main__".into())
}

/// The main module's global `name`, if bound.
fn global(vm: &Vm<'_>, name: &str) -> Option<Value> {
    let slot = *vm.i.global_names.index.get(name)?;
    vm.i.globals.get(slot as usize).copied().filter(|v| *v != Value::Null)
}

/// `qualname` (dotted) looked up from the main module's globals.
fn lookup_qualname(vm: &mut Vm<'_>, qualname: &str) -> Option<Value> {
    let mut parts = qualname.split('.');
    let mut v = global(vm, parts.next()?)?;
    for p in parts {
        v = vm.lookup_attr(v, p).ok().flatten()?;
    }
    Some(v)
}

struct Writer {
    out: Vec<u8>,
}

impl Writer {
    fn u32(&mut self, n: usize) {
        self.out.extend_from_slice(&(n as u32).to_le_bytes());
    }

    fn str(&mut self, s: &str) {
        self.u32(s.len());
        self.out.extend_from_slice(s.as_bytes());
    }
}

/// `pickle.dumps(v)`, as ThreadLab's processes exchange it.
///
/// # Errors
/// CPython's errors for what cannot be pickled (see the module's note).
pub fn dumps(vm: &mut Vm<'_>, v: Value) -> R<Vec<u8>> {
    let mut w = Writer { out: Vec::new() };
    save(vm, &mut w, v, 0)?;
    Ok(w.out)
}

/// A function or class by reference, as CPython's `save_global` checks it.
fn save_global(vm: &mut Vm<'_>, w: &mut Writer, v: Value, qualname: &str) -> R<()> {
    let module = main_name(vm);
    if qualname.contains("<locals>") {
        return Err(vm.exc("AttributeError", &format!("Can't pickle local object '{qualname}'")));
    }
    let repr = vm.repr(v)?;
    match lookup_qualname(vm, qualname) {
        Some(found) if vm.is(found, v) => {
            w.out.push(tag::GLOBAL);
            w.str(qualname);
            Ok(())
        }
        Some(_) => {
            Err(pickling_error(vm, format!("Can't pickle {repr}: it's not the same object as {module}.{qualname}")))
        }
        None => Err(pickling_error(vm, format!("Can't pickle {repr}: attribute lookup {qualname} on {module} failed"))),
    }
}

/// A class: a builtin by name, one of ThreadLab's modules' by name, or the program's by reference.
fn save_class(vm: &mut Vm<'_>, w: &mut Writer, cls: ObjRef) -> R<()> {
    let (name, qualname) = match vm.i.heap.get(cls) {
        Obj::Class(c) => (c.name.clone(), c.qualname.clone()),
        _ => return Err(cannot(vm, "type")),
    };
    if vm.i.builtins.get(&name).is_some_and(|b| *b == Value::Obj(cls)) {
        w.out.push(tag::BUILTIN);
        w.str(&name);
        return Ok(());
    }
    if super::module_class(vm, &name) == Some(cls) {
        w.out.push(tag::MODULE_CLASS);
        w.str(&name);
        return Ok(());
    }
    if super::super::random::is_class(vm, cls) {
        w.out.push(tag::RANDOM_CLASS);
        return Ok(());
    }
    save_global(vm, w, Value::Obj(cls), &qualname)
}

fn save_items(vm: &mut Vm<'_>, w: &mut Writer, t: u8, items: &[Value], depth: usize) -> R<()> {
    w.out.push(t);
    w.u32(items.len());
    for x in items {
        save(vm, w, *x, depth + 1)?;
    }
    Ok(())
}

fn save(vm: &mut Vm<'_>, w: &mut Writer, v: Value, depth: usize) -> R<()> {
    if depth > MAX_DEPTH {
        return Err(vm.exc(
            "RecursionError",
            "maximum recursion depth exceeded while pickling an object (ThreadLab does not pickle a value that contains itself)",
        ));
    }
    let r = match v {
        Value::Null | Value::None => {
            w.out.push(tag::NONE);
            return Ok(());
        }
        Value::Bool(b) => {
            w.out.push(if b { tag::TRUE } else { tag::FALSE });
            return Ok(());
        }
        Value::Int(n) => {
            w.out.push(tag::INT);
            w.out.extend_from_slice(&n.to_le_bytes());
            return Ok(());
        }
        Value::Float(f) => {
            w.out.push(tag::FLOAT);
            w.out.extend_from_slice(&f.to_le_bytes());
            return Ok(());
        }
        Value::Ellipsis => {
            w.out.push(tag::ELLIPSIS);
            return Ok(());
        }
        Value::Native(id) => {
            let name = NATIVES[id as usize].0;
            if name.contains('.') {
                return Err(cannot(vm, "builtin_function_or_method"));
            }
            w.out.push(tag::BUILTIN);
            w.str(name);
            return Ok(());
        }
        Value::Obj(r) => r,
    };
    match vm.i.heap.get(r) {
        Obj::Str(s) => {
            let s = s.clone();
            w.out.push(tag::STR);
            w.str(&s);
            Ok(())
        }
        Obj::Big(i) => {
            let s = i.to_prefixed(16);
            w.out.push(tag::BIG);
            w.str(&s);
            Ok(())
        }
        Obj::Tuple(items) => {
            let items = items.clone();
            save_items(vm, w, tag::TUPLE, &items, depth)
        }
        Obj::List(items) => {
            let items = items.clone();
            save_items(vm, w, tag::LIST, &items, depth)
        }
        Obj::Dict(d) => {
            let pairs: Vec<Value> = d.iter().flat_map(|(k, v)| [k, v]).collect();
            w.out.push(tag::DICT);
            w.u32(pairs.len() / 2);
            for x in pairs {
                save(vm, w, x, depth + 1)?;
            }
            Ok(())
        }
        Obj::Set(d, frozen) => {
            let t = if *frozen { tag::FROZENSET } else { tag::SET };
            let items: Vec<Value> = d.iter().map(|(k, _)| k).collect();
            save_items(vm, w, t, &items, depth)
        }
        Obj::Range(a, b, c) => {
            let (a, b, c) = (*a, *b, *c);
            w.out.push(tag::RANGE);
            for n in [a, b, c] {
                w.out.extend_from_slice(&n.to_le_bytes());
            }
            Ok(())
        }
        Obj::Function(f) => {
            let q = f.qualname.clone();
            save_global(vm, w, v, &q)
        }
        Obj::Class(_) => save_class(vm, w, r),
        Obj::Instance(inst) => {
            let cls = inst.class;
            if let Some(e) = &inst.exc {
                let args = e.args.clone();
                w.out.push(tag::EXCEPTION);
                save_class(vm, w, cls)?;
                return save_items(vm, w, tag::TUPLE, &args, depth);
            }
            if let Some(kind) = super::own_kind(vm, cls) {
                return match kind {
                    "Queue" => {
                        let chan = super::int_attr(vm, v, "_channel").unwrap_or(0);
                        w.out.push(tag::QUEUE);
                        w.u32(chan as usize);
                        Ok(())
                    }
                    "Connection" => {
                        w.out.push(tag::CONNECTION);
                        for side in ["_recv", "_send"] {
                            w.u32(super::int_attr(vm, v, side).unwrap_or(0) as usize);
                        }
                        Ok(())
                    }
                    "Pool" => {
                        Err(vm.exc("NotImplementedError", "pool objects cannot be passed between processes or pickled"))
                    }
                    other => Err(cannot(vm, other)),
                };
            }
            let mut attrs: Vec<(String, Value)> = inst.dict.iter().map(|(k, v)| (k.clone(), *v)).collect();
            attrs.sort_by(|a, b| a.0.cmp(&b.0));
            w.out.push(tag::INSTANCE);
            save_class(vm, w, cls)?;
            w.u32(attrs.len());
            for (k, x) in attrs {
                w.str(&k);
                save(vm, w, x, depth + 1)?;
            }
            Ok(())
        }
        Obj::Native(super::super::random::STATE, _) => {
            let words = super::super::random::state_words(vm, r).unwrap_or_default();
            w.out.push(tag::RANDOM_STATE);
            for n in words {
                w.out.extend_from_slice(&n.to_le_bytes());
            }
            Ok(())
        }
        Obj::Native(t, slots) => {
            if *t == "bytes" {
                let bytes: Vec<u8> = slots.iter().map(|v| if let Value::Int(n) = v { *n as u8 } else { 0 }).collect();
                w.out.push(tag::BYTES);
                w.u32(bytes.len());
                w.out.extend_from_slice(&bytes);
                return Ok(());
            }
            // CPython names the lock types by their module.
            let name = match *t {
                "lock" | "Lock" => "_thread.lock".to_owned(),
                "RLock" => "_thread.RLock".to_owned(),
                _ => vm.type_name(v),
            };
            Err(cannot(vm, &name))
        }
        // CPython fails on the lock inside (an Event, a Queue, a Thread hold a `_thread.lock`;
        // an RLock, and a Condition made without a lock, an `_thread.RLock`).
        Obj::Sync(sh) => Err(cannot(vm, sh.pickled_lock())),
        Obj::Module(..) => Err(cannot(vm, "module")),
        Obj::Iter(_) | Obj::Generator(_) | Obj::Cell(_) | Obj::Bound(..) | Obj::Slice(..) => {
            let t = vm.type_name(v);
            Err(cannot(vm, &t))
        }
        // Kinds of objects other parts add (`threading`'s): refused as CPython refuses
        // them, by the lock that each holds.
        #[allow(unreachable_patterns)]
        _ => {
            let t = vm.type_name(v);
            let name = match t.as_str() {
                "RLock" => "_thread.RLock".to_owned(),
                "lock" | "Lock" | "Event" | "Semaphore" | "BoundedSemaphore" | "Barrier" | "Condition" | "Queue"
                | "Thread" | "_MainThread" => "_thread.lock".to_owned(),
                _ => t,
            };
            Err(cannot(vm, &name))
        }
    }
}

struct Reader<'b> {
    b: &'b [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let s = self.b.get(self.at..self.at + n)?;
        self.at += n;
        Some(s)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|s| s[0])
    }

    fn u32(&mut self) -> Option<usize> {
        self.take(4).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize)
    }

    fn i64(&mut self) -> Option<i64> {
        self.take(8).map(|s| i64::from_le_bytes(s.try_into().unwrap_or([0; 8])))
    }

    fn str(&mut self) -> Option<String> {
        let n = self.u32()?;
        self.take(n).map(|s| String::from_utf8_lossy(s).into_owned())
    }
}

/// `pickle.loads`: the value `dumps` wrote, made in this process's heap.
///
/// # Errors
/// A reference this process cannot resolve (CPython's `AttributeError: Can't get attribute`),
/// or damaged bytes.
pub fn loads(vm: &mut Vm<'_>, bytes: &[u8]) -> R<Value> {
    let mut r = Reader { b: bytes, at: 0 };
    load(vm, &mut r)
}

fn truncated(vm: &mut Vm<'_>) -> Flow {
    let msg = "pickle data was truncated".to_owned();
    match super::module_class(vm, "UnpicklingError") {
        Some(cls) => {
            let m = vm.new_str(msg);
            Flow::Exc(super::super::builtins::new_exception(vm, cls, vec![m]))
        }
        None => vm.exc("RuntimeError", &msg),
    }
}

fn load_items(vm: &mut Vm<'_>, r: &mut Reader<'_>) -> R<Vec<Value>> {
    let Some(n) = r.u32() else { return Err(truncated(vm)) };
    let mut items = Vec::with_capacity(n.min(1 << 16));
    for _ in 0..n {
        items.push(load(vm, r)?);
    }
    Ok(items)
}

fn load(vm: &mut Vm<'_>, r: &mut Reader<'_>) -> R<Value> {
    let Some(t) = r.u8() else { return Err(truncated(vm)) };
    Ok(match t {
        tag::NONE => Value::None,
        tag::TRUE => Value::Bool(true),
        tag::FALSE => Value::Bool(false),
        tag::ELLIPSIS => Value::Ellipsis,
        tag::INT => Value::Int(r.i64().ok_or_else(|| truncated(vm))?),
        tag::FLOAT => Value::Float(f64::from_bits(r.i64().ok_or_else(|| truncated(vm))? as u64)),
        tag::STR => {
            let s = r.str().ok_or_else(|| truncated(vm))?;
            vm.new_str(s)
        }
        tag::BIG => {
            let s = r.str().ok_or_else(|| truncated(vm))?;
            match crate::core::py::num::Int::parse(&s, 0) {
                Ok(i) => vm.int_value(i),
                Err(_) => return Err(truncated(vm)),
            }
        }
        tag::TUPLE => {
            let items = load_items(vm, r)?;
            vm.i.heap.alloc(Obj::Tuple(items))
        }
        tag::LIST => {
            let items = load_items(vm, r)?;
            vm.i.heap.alloc(Obj::List(items))
        }
        tag::DICT => {
            let Some(n) = r.u32() else { return Err(truncated(vm)) };
            let d = vm.i.heap.alloc(Obj::Dict(super::super::heap::Dict::default()));
            let Value::Obj(dr) = d else { unreachable!() };
            for _ in 0..n {
                let k = load(vm, r)?;
                let v = load(vm, r)?;
                vm.dict_set(dr, k, v)?;
            }
            d
        }
        tag::SET | tag::FROZENSET => {
            let items = load_items(vm, r)?;
            let s = vm.new_set(&items)?;
            if t == tag::FROZENSET {
                if let Value::Obj(sr) = s {
                    if let Obj::Set(_, frozen) = vm.i.heap.get_mut(sr) {
                        *frozen = true;
                    }
                }
            }
            s
        }
        tag::RANGE => {
            let (a, b, c) = (r.i64(), r.i64(), r.i64());
            let (Some(a), Some(b), Some(c)) = (a, b, c) else { return Err(truncated(vm)) };
            vm.i.heap.alloc(Obj::Range(a, b, c))
        }
        tag::BYTES => {
            let Some(n) = r.u32() else { return Err(truncated(vm)) };
            let Some(b) = r.take(n) else { return Err(truncated(vm)) };
            let slots = b.iter().map(|x| Value::Int(i64::from(*x))).collect();
            vm.i.heap.alloc(Obj::Native("bytes", slots))
        }
        tag::GLOBAL => {
            let q = r.str().ok_or_else(|| truncated(vm))?;
            match lookup_qualname(vm, &q) {
                Some(v) => v,
                None => {
                    let m = main_name(vm);
                    return Err(vm.exc("AttributeError", &format!("Can't get attribute '{q}' on <module '{m}'>")));
                }
            }
        }
        tag::BUILTIN => {
            let name = r.str().ok_or_else(|| truncated(vm))?;
            match vm.i.builtins.get(&name) {
                Some(v) => *v,
                None => {
                    return Err(
                        vm.exc("AttributeError", &format!("Can't get attribute '{name}' on <module 'builtins'>"))
                    )
                }
            }
        }
        tag::RANDOM_CLASS => super::super::random::class(vm),
        tag::RANDOM_STATE => {
            let mut words = Vec::with_capacity(super::super::random::STATE_WORDS);
            for _ in 0..super::super::random::STATE_WORDS {
                words.push(r.i64().ok_or_else(|| truncated(vm))?);
            }
            super::super::random::state_from_words(vm, &words)
        }
        tag::MODULE_CLASS => {
            let name = r.str().ok_or_else(|| truncated(vm))?;
            match super::module_class(vm, &name) {
                Some(c) => Value::Obj(c),
                None => return Err(vm.exc("AttributeError", &format!("Can't get attribute '{name}'"))),
            }
        }
        tag::INSTANCE => {
            let Value::Obj(cls) = load(vm, r)? else { return Err(truncated(vm)) };
            let Some(n) = r.u32() else { return Err(truncated(vm)) };
            let mut dict = Attrs::default();
            for _ in 0..n {
                let k = r.str().ok_or_else(|| truncated(vm))?;
                let v = load(vm, r)?;
                dict.insert(k, v);
            }
            vm.i.heap.alloc(Obj::Instance(Instance { class: cls, dict, exc: None }))
        }
        tag::EXCEPTION => {
            let Value::Obj(cls) = load(vm, r)? else { return Err(truncated(vm)) };
            let args = load(vm, r)?;
            let args = vm.tuple_items(args);
            super::super::builtins::new_exception(vm, cls, args)
        }
        tag::QUEUE => {
            let Some(chan) = r.u32() else { return Err(truncated(vm)) };
            super::new_queue(vm, chan as u32)?
        }
        tag::CONNECTION => {
            let (Some(recv), Some(send)) = (r.u32(), r.u32()) else { return Err(truncated(vm)) };
            super::new_connection(vm, recv as u32, send as u32)
        }
        _ => return Err(truncated(vm)),
    })
}

/// Whether `v` is a `bytes` object made by `pickle.dumps`; its bytes.
#[must_use]
pub fn bytes_of(vm: &Vm<'_>, v: Value) -> Option<Vec<u8>> {
    let Value::Obj(r) = v else { return None };
    match vm.i.heap.get(r) {
        Obj::Native("bytes", slots) => {
            Some(slots.iter().map(|v| if let Value::Int(n) = v { *n as u8 } else { 0 }).collect())
        }
        _ => None,
    }
}

/// A `bytes` object holding `b`.
pub fn new_bytes(vm: &mut Vm<'_>, b: &[u8]) -> Value {
    let slots = b.iter().map(|x| Value::Int(i64::from(*x))).collect();
    vm.i.heap.alloc(Obj::Native("bytes", slots))
}
