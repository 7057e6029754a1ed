//! Python's operations on values: arithmetic with Python's floor semantics, comparison,
//! truth, hashing, attributes, items, iteration, `repr` and `str`.

use super::ast::{BinOp, CmpOp};
use super::builtins::TypeTag;
use super::heap::{Class, Dict, ExcData, HKey, IterState, Obj, ObjRef, Value};
use super::instr::Instr;
use super::vm::{Flow, Vm, R};
use crate::core::py::num::Int;

pub(super) const MAX_SEQ: usize = 50_000_000;

impl Vm<'_> {
    pub fn new_str(&mut self, s: String) -> Value {
        self.i.heap.alloc(Obj::Str(s))
    }

    #[must_use]
    pub fn as_str(&self, v: Value) -> Option<&str> {
        match v {
            Value::Obj(r) => match self.i.heap.get(r) {
                Obj::Str(s) => Some(s),
                _ => None,
            },
            _ => None,
        }
    }

    /// A new exception instance of the built-in class `kind`, as a `Flow` to raise.
    pub fn exc(&mut self, kind: &str, msg: &str) -> Flow {
        Flow::Exc(self.new_exc(kind, msg))
    }

    pub fn new_exc(&mut self, kind: &str, msg: &str) -> Value {
        let Some(Value::Obj(cls)) = self.i.builtins.get(kind).copied() else {
            return self.new_exc("RuntimeError", msg);
        };
        let m = self.new_str(msg.to_owned());
        super::builtins::new_exception(self, cls, vec![m])
    }

    pub fn exc_data_mut(&mut self, e: Value) -> Option<&mut ExcData> {
        match e {
            Value::Obj(r) => match self.i.heap.get_mut(r) {
                Obj::Instance(i) => i.exc.as_deref_mut(),
                _ => None,
            },
            _ => None,
        }
    }

    #[must_use]
    pub fn exc_data(&self, e: Value) -> Option<&ExcData> {
        match e {
            Value::Obj(r) => match self.i.heap.get(r) {
                Obj::Instance(i) => i.exc.as_deref(),
                _ => None,
            },
            _ => None,
        }
    }

    /// What `raise v [from cause]` raises.
    pub fn make_exc(&mut self, v: Value, cause: Option<Value>) -> Flow {
        let e = if self.is_class(v) {
            let Value::Obj(c) = v else { unreachable!() };
            if !self.is_subclass(c, self.i.types.base_exception) {
                return self.exc("TypeError", "exceptions must derive from BaseException");
            }
            match self.call_sync(v, &[], &[]) {
                Ok(e) => e,
                Err(f) => return f,
            }
        } else {
            v
        };
        if self.exc_data(e).is_none() {
            return self.exc("TypeError", "exceptions must derive from BaseException");
        }
        if let Some(c) = cause {
            let c = if self.is_class(c) { self.call_sync(c, &[], &[]).unwrap_or(Value::None) } else { c };
            if let Some(d) = self.exc_data_mut(e) {
                d.cause = if c == Value::None { None } else { Some(c) };
                d.suppress_context = true;
            }
        }
        Flow::Exc(e)
    }

    pub fn exc_matches(&mut self, e: Value, kind: Value) -> R<bool> {
        let cls = self.class_of(e);
        let Value::Obj(c) = cls else { return Ok(false) };
        if let Value::Obj(k) = kind {
            match self.i.heap.get(k) {
                Obj::Tuple(items) => {
                    let items = items.clone();
                    for it in items {
                        if self.exc_matches(e, it)? {
                            return Ok(true);
                        }
                    }
                    return Ok(false);
                }
                Obj::Class(_) if self.is_subclass(k, self.i.types.base_exception) => return Ok(self.is_subclass(c, k)),
                _ => {}
            }
        }
        Err(self.exc("TypeError", "catching classes that do not inherit from BaseException is not allowed"))
    }

    #[must_use]
    pub fn is_class(&self, v: Value) -> bool {
        matches!(v, Value::Obj(r) if matches!(self.i.heap.get(r), Obj::Class(_)))
    }

    #[must_use]
    pub fn is_subclass(&self, a: ObjRef, b: ObjRef) -> bool {
        match self.i.heap.get(a) {
            Obj::Class(c) => c.mro.contains(&b),
            _ => false,
        }
    }

    #[must_use]
    pub fn class_name(&self, c: ObjRef) -> String {
        match self.i.heap.get(c) {
            Obj::Class(c) => c.name.clone(),
            _ => "?".into(),
        }
    }

    /// `type(v)`.
    #[must_use]
    pub fn class_of(&self, v: Value) -> Value {
        let t = &self.i.types;
        let r = match v {
            Value::Null | Value::None => t.none_type,
            Value::Bool(_) => t.bool,
            Value::Int(_) => t.int,
            Value::Float(_) => t.float,
            Value::Ellipsis => t.ellipsis,
            Value::Native(_) => t.builtin_function,
            Value::Obj(r) => match self.i.heap.get(r) {
                Obj::Str(_) => t.str,
                Obj::Big(_) => t.int,
                Obj::List(_) => t.list,
                Obj::Tuple(_) => t.tuple,
                Obj::Dict(_) => t.dict,
                Obj::Set(_, frozen) => {
                    if *frozen {
                        t.frozenset
                    } else {
                        t.set
                    }
                }
                Obj::Range(..) => t.range,
                Obj::Slice(..) => t.slice,
                Obj::Iter(st) => {
                    let tag = match st {
                        IterState::Enumerate { .. } => "enumerate",
                        IterState::Zip { .. } => "zip",
                        IterState::Map { .. } => "map",
                        IterState::Filter { .. } => "filter",
                        _ => "",
                    };
                    t.natives.get(tag).copied().unwrap_or(t.iterator)
                }
                Obj::Generator(_) => t.natives.get("generator").copied().unwrap_or(t.object),
                Obj::Function(_) => t.function,
                Obj::Cell(_) => t.object,
                Obj::Class(_) => t.type_,
                Obj::Instance(i) => i.class,
                Obj::Bound(..) => t.method,
                Obj::Module(..) => t.module,
                Obj::Native(tag, _) => t.natives.get(*tag).copied().unwrap_or(t.object),
                Obj::Sync(s) => t.natives.get(s.tag()).copied().unwrap_or(t.object),
            },
        };
        Value::Obj(r)
    }

    #[must_use]
    pub fn type_name(&self, v: Value) -> String {
        match self.class_of(v) {
            Value::Obj(c) => self.class_name(c),
            _ => "?".into(),
        }
    }

    #[must_use]
    pub fn class_lookup(&self, cls: ObjRef, name: &str) -> Option<Value> {
        let Obj::Class(c) = self.i.heap.get(cls) else { return None };
        for m in &c.mro {
            if let Obj::Class(k) = self.i.heap.get(*m) {
                if let Some(v) = k.dict.get(name) {
                    return Some(*v);
                }
            }
        }
        None
    }

    /// A dunder method of `v`'s class, if `v` is an instance of a user class.
    /// A method of an instance of a Python class (`None` for anything else).
    #[must_use]
    pub fn user_method_of(&self, v: Value, name: &str) -> Option<Value> {
        self.user_method(v, name)
    }

    fn user_method(&self, v: Value, name: &str) -> Option<Value> {
        let Value::Obj(r) = v else { return None };
        let Obj::Instance(inst) = self.i.heap.get(r) else { return None };
        let m = self.class_lookup(inst.class, name)?;
        matches!(m, Value::Obj(f) if matches!(self.i.heap.get(f), Obj::Function(_))).then_some(m)
    }

    pub fn getattr(&mut self, obj: Value, name: &str) -> R<Value> {
        match self.lookup_attr(obj, name)? {
            Some(v) => Ok(v),
            None => Err(self.attr_error(obj, name)),
        }
    }

    pub fn getattr_or(&mut self, obj: Value, name: &str, what: &str) -> R<Value> {
        match self.lookup_attr(obj, name)? {
            Some(v) => Ok(v),
            None => {
                let t = self.type_name(obj);
                let _ = what;
                Err(self.exc("TypeError", &format!("'{t}' object does not support the context manager protocol")))
            }
        }
    }

    fn attr_error(&mut self, obj: Value, name: &str) -> Flow {
        if let Value::Obj(r) = obj {
            match self.i.heap.get(r) {
                Obj::Module(m, _) => {
                    let m = m.clone();
                    return self.exc("AttributeError", &format!("module '{m}' has no attribute '{name}'"));
                }
                Obj::Class(c) => {
                    let n = c.name.clone();
                    return self.exc("AttributeError", &format!("type object '{n}' has no attribute '{name}'"));
                }
                _ => {}
            }
        }
        let t = self.type_name(obj);
        self.exc("AttributeError", &format!("'{t}' object has no attribute '{name}'"))
    }

    fn bind_value(&mut self, recv: Value, f: Value) -> Value {
        match f {
            Value::Native(_) => self.i.heap.alloc(Obj::Bound(recv, f)),
            Value::Obj(r) if matches!(self.i.heap.get(r), Obj::Function(_)) => self.i.heap.alloc(Obj::Bound(recv, f)),
            _ => f,
        }
    }

    pub fn lookup_attr(&mut self, obj: Value, name: &str) -> R<Option<Value>> {
        if let Some(v) = crate::core::py::threads::threading::getattr(self, obj, name) {
            return Ok(Some(v));
        }
        if let Value::Obj(r) = obj {
            match self.i.heap.get(r) {
                Obj::Native("super", slots) => {
                    let (cls, me) = (slots[0], slots[1]);
                    return super::builtins::super_attr(self, cls, me, name);
                }
                Obj::Native("_thread._local", slots) => {
                    let per_thread = slots[0];
                    let mine = crate::core::py::threads::threading::local_dict(self, per_thread)?;
                    if let Some(v) = self.dict_get(mine, &HKey::Str(name.to_owned())) {
                        return Ok(Some(v));
                    }
                    if name == "__dict__" {
                        return Ok(Some(Value::Obj(mine)));
                    }
                }
                Obj::Instance(inst) => {
                    if let Some(v) = inst.dict.get(name) {
                        return Ok(Some(*v));
                    }
                    if let Some(e) = &inst.exc {
                        match name {
                            "args" => {
                                let a = e.args.clone();
                                return Ok(Some(self.i.heap.alloc(Obj::Tuple(a))));
                            }
                            "__cause__" => return Ok(Some(e.cause.unwrap_or(Value::None))),
                            "value" => {
                                let (first, cls) = (e.args.first().copied(), inst.class);
                                if let Value::Obj(stop) = self.i.builtins["StopIteration"] {
                                    if self.is_subclass(cls, stop) {
                                        return Ok(Some(first.unwrap_or(Value::None)));
                                    }
                                }
                            }
                            "__context__" => return Ok(Some(e.context.unwrap_or(Value::None))),
                            _ => {}
                        }
                    }
                    let cls = inst.class;
                    if name == "__class__" {
                        return Ok(Some(Value::Obj(cls)));
                    }
                    if name == "__dict__" {
                        // A `random.Random`'s generator is C state in CPython, not an attribute.
                        let pairs: Vec<(String, Value)> = inst
                            .dict
                            .iter()
                            .filter(|(k, _)| k.as_str() != super::random::STATE_ATTR)
                            .map(|(k, v)| (k.clone(), *v))
                            .collect();
                        let d = self.new_dict_str(pairs);
                        return Ok(Some(d));
                    }
                    if let Some(d) = self.class_lookup(cls, name) {
                        if let Some(v) = self.descriptor_get(d, obj, Value::Obj(cls))? {
                            return Ok(Some(v));
                        }
                    }
                    return Ok(self.class_lookup(cls, name).map(|f| self.bind_value(obj, f)));
                }
                Obj::Class(c) => {
                    match name {
                        "__name__" => {
                            let n = c.name.clone();
                            return Ok(Some(self.new_str(n)));
                        }
                        "__qualname__" => {
                            let n = c.qualname.clone();
                            return Ok(Some(self.new_str(n)));
                        }
                        "__mro__" => {
                            let m: Vec<Value> = c.mro.iter().map(|c| Value::Obj(*c)).collect();
                            return Ok(Some(self.i.heap.alloc(Obj::Tuple(m))));
                        }
                        "__bases__" => {
                            let m: Vec<Value> = c.bases.iter().map(|c| Value::Obj(*c)).collect();
                            return Ok(Some(self.i.heap.alloc(Obj::Tuple(m))));
                        }
                        _ => {}
                    }
                    let found = self.class_lookup(r, name);
                    if let Some(d) = found {
                        if let Value::Obj(dr) = d {
                            if matches!(self.i.heap.get(dr), Obj::Native("property", _)) {
                                return Ok(Some(d));
                            }
                        }
                        if let Some(v) = self.descriptor_get(d, Value::None, obj)? {
                            return Ok(Some(v));
                        }
                    }
                    return Ok(found);
                }
                Obj::Module(_, attrs) => return Ok(attrs.get(name).copied()),
                Obj::Function(f) => {
                    match name {
                        "__name__" => {
                            let n = f.name.clone();
                            return Ok(Some(self.new_str(n)));
                        }
                        "__qualname__" => {
                            let n = f.qualname.clone();
                            return Ok(Some(self.new_str(n)));
                        }
                        _ => {}
                    }
                    if let Some(v) = f.attrs.get(name) {
                        return Ok(Some(*v));
                    }
                }
                Obj::Bound(recv, f) => {
                    if name == "__self__" {
                        return Ok(Some(*recv));
                    }
                    let f = *f;
                    return self.lookup_attr(f, name);
                }
                _ => {}
            }
        }
        if let Value::Native(id) = obj {
            if name == "__name__" {
                let n = super::builtins::NATIVES[id as usize].0;
                let n = n.rsplit('.').next().unwrap_or(n).to_owned();
                return Ok(Some(self.new_str(n)));
            }
        }
        if name == "__class__" {
            return Ok(Some(self.class_of(obj)));
        }
        if let Value::Obj(c) = self.class_of(obj) {
            if let Some(f) = self.class_lookup(c, name) {
                return Ok(Some(self.bind_value(obj, f)));
            }
        }
        if let (Value::Float(f), "real") | (Value::Float(f), "imag") = (obj, name) {
            return Ok(Some(if name == "real" { Value::Float(f) } else { Value::Float(0.0) }));
        }
        Ok(None)
    }

    /// `obj.name` for a call: `[function, obj]` when it is a method, else `[attr, Null]`.
    pub fn load_method(&mut self, obj: Value, name: &str) -> R<(Value, Value)> {
        let cls = match obj {
            Value::Obj(r) => match self.i.heap.get(r) {
                Obj::Instance(inst) if !inst.dict.contains_key(name) && inst.exc.is_none() => Some(inst.class),
                Obj::Native("super", _) => None,
                Obj::Str(_) | Obj::List(_) | Obj::Dict(_) | Obj::Set(..) | Obj::Tuple(_) | Obj::Native(..) => {
                    if let Value::Obj(c) = self.class_of(obj) {
                        Some(c)
                    } else {
                        None
                    }
                }
                _ => None,
            },
            _ => None,
        };
        if let Some(c) = cls {
            if let Some(f) = self.class_lookup(c, name) {
                let is_method = match f {
                    Value::Native(_) => true,
                    Value::Obj(r) => matches!(self.i.heap.get(r), Obj::Function(_)),
                    _ => false,
                };
                if is_method {
                    return Ok((f, obj));
                }
            }
        }
        let v = self.getattr(obj, name)?;
        Ok((v, Value::Null))
    }

    /// What `property`, `staticmethod` and `classmethod` objects found on a class give for
    /// `obj.name` (`obj` None when looked up on the class itself), or `None` for others.
    fn descriptor_get(&mut self, d: Value, obj: Value, cls: Value) -> R<Option<Value>> {
        let Value::Obj(dr) = d else { return Ok(None) };
        let (tag, slots) = match self.i.heap.get(dr) {
            Obj::Native(tag @ ("property" | "staticmethod" | "classmethod"), slots) => (*tag, slots.clone()),
            _ => return Ok(None),
        };
        match tag {
            "property" => {
                if slots[0] == Value::None {
                    return Err(self.exc("AttributeError", "property has no getter"));
                }
                self.call_sync(slots[0], &[obj], &[]).map(Some)
            }
            "staticmethod" => Ok(Some(slots[0])),
            _ => Ok(Some(self.i.heap.alloc(Obj::Bound(cls, slots[0])))),
        }
    }

    pub fn setattr(&mut self, obj: Value, name: &str, v: Value) -> R<()> {
        if let Some(r) = crate::core::py::threads::threading::setattr(self, obj, name, v) {
            return r;
        }
        if let Value::Obj(r) = obj {
            if let Obj::Native("_thread._local", slots) = self.i.heap.get(r) {
                let per_thread = slots[0];
                let mine = crate::core::py::threads::threading::local_dict(self, per_thread)?;
                return self.dict_set_str(mine, name, v);
            }
            if let Obj::Instance(inst) = self.i.heap.get(r) {
                let cls = inst.class;
                if let Some(Value::Obj(p)) = self.class_lookup(cls, name) {
                    if let Obj::Native("property", slots) = self.i.heap.get(p) {
                        let setter = slots[1];
                        if setter == Value::None {
                            let t = self.class_name(cls);
                            return Err(
                                self.exc("AttributeError", &format!("property '{name}' of '{t}' object has no setter"))
                            );
                        }
                        self.call_sync(setter, &[obj, v], &[])?;
                        return Ok(());
                    }
                }
            }
            match self.i.heap.get_mut(r) {
                Obj::Instance(inst) => {
                    // Most stores replace an attribute: no new key to allocate.
                    match inst.dict.get_mut(name) {
                        Some(slot) => *slot = v,
                        None => {
                            inst.dict.insert(name.to_owned(), v);
                        }
                    }
                    return Ok(());
                }
                Obj::Class(c) => {
                    c.dict.insert(name.to_owned(), v);
                    return Ok(());
                }
                Obj::Function(f) => {
                    f.attrs.insert(name.to_owned(), v);
                    return Ok(());
                }
                Obj::Module(_, attrs) => {
                    attrs.insert(name.to_owned(), v);
                    return Ok(());
                }
                _ => {}
            }
        }
        let t = self.type_name(obj);
        Err(self.exc("AttributeError", &format!("'{t}' object has no attribute '{name}'")))
    }

    pub fn delattr(&mut self, obj: Value, name: &str) -> R<()> {
        if let Value::Obj(r) = obj {
            if let Obj::Instance(inst) = self.i.heap.get_mut(r) {
                if inst.dict.remove(name).is_some() {
                    return Ok(());
                }
            }
        }
        Err(self.attr_error(obj, name))
    }

    pub fn hkey(&mut self, v: Value) -> R<HKey> {
        Ok(match v {
            Value::None | Value::Null => HKey::None,
            Value::Bool(b) => HKey::Int(i64::from(b)),
            Value::Int(n) => HKey::Int(n),
            Value::Float(f) => Self::float_hkey(f),
            Value::Ellipsis => HKey::Ellipsis,
            Value::Native(n) => HKey::Native(n),
            Value::Obj(r) => match self.i.heap.get(r) {
                Obj::Str(s) => HKey::Str(s.clone()),
                Obj::Big(i) => HKey::Big(i.clone()),
                Obj::Tuple(items) => {
                    let items = items.clone();
                    let mut keys = Vec::with_capacity(items.len());
                    for it in items {
                        keys.push(self.hkey(it)?);
                    }
                    HKey::Tuple(keys)
                }
                Obj::List(_) | Obj::Dict(_) | Obj::Set(_, false) => {
                    let t = self.type_name(v);
                    return Err(self.exc("TypeError", &format!("unhashable type: '{t}'")));
                }
                Obj::Instance(_)
                    if self.user_method(v, "__eq__").is_some() && self.user_method(v, "__hash__").is_none() =>
                {
                    let t = self.type_name(v);
                    return Err(self.exc("TypeError", &format!("unhashable type: '{t}'")));
                }
                _ => HKey::Id(r.0),
            },
        })
    }

    pub fn new_dict_str(&mut self, pairs: Vec<(String, Value)>) -> Value {
        let mut d = Dict::default();
        for (k, v) in pairs {
            let kv = self.new_str(k.clone());
            d.insert(HKey::Str(k), kv, v);
        }
        self.i.heap.alloc(Obj::Dict(d))
    }

    pub fn dict_set(&mut self, d: ObjRef, k: Value, v: Value) -> R<()> {
        let hk = self.hkey(k)?;
        let max = self.i.max_items;
        if let Obj::Dict(d) = self.i.heap.get_mut(d) {
            if d.len() >= max && d.get(&hk).is_none() {
                return Err(self.items_budget("dict"));
            }
            d.insert(hk, k, v);
        }
        Ok(())
    }

    pub fn dict_set_str(&mut self, d: ObjRef, k: &str, v: Value) -> R<()> {
        let kv = self.new_str(k.to_owned());
        self.dict_set(d, kv, v)
    }

    pub fn dict_update(&mut self, d: ObjRef, m: Value) -> R<()> {
        let pairs: Vec<(Value, Value)> = match m {
            Value::Obj(r) => match self.i.heap.get(r) {
                Obj::Dict(src) => src.iter().collect(),
                _ => {
                    let items = self.iterate(m)?;
                    let mut out = Vec::new();
                    for it in items {
                        let kv = self.iterate(it)?;
                        if kv.len() != 2 {
                            return Err(self.exc(
                                "ValueError",
                                &format!("dictionary update sequence element has length {}; 2 is required", kv.len()),
                            ));
                        }
                        out.push((kv[0], kv[1]));
                    }
                    out
                }
            },
            _ => {
                let t = self.type_name(m);
                return Err(self.exc("TypeError", &format!("'{t}' object is not a mapping")));
            }
        };
        for (k, v) in pairs {
            self.dict_set(d, k, v)?;
        }
        Ok(())
    }

    pub fn new_set(&mut self, items: &[Value]) -> R<Value> {
        let s = self.i.heap.alloc(Obj::Set(Dict::default(), false));
        for it in items {
            self.set_add(s, *it)?;
        }
        Ok(s)
    }

    pub fn set_add(&mut self, s: Value, v: Value) -> R<()> {
        let hk = self.hkey(v)?;
        let max = self.i.max_items;
        if let Value::Obj(r) = s {
            if let Obj::Set(d, _) = self.i.heap.get_mut(r) {
                if d.len() >= max && d.get(&hk).is_none() {
                    return Err(self.items_budget("set"));
                }
                d.insert(hk, v, Value::None);
            }
        }
        Ok(())
    }

    fn index_of(&mut self, idx: Value, len: usize, what: &str) -> R<usize> {
        let i = match idx {
            Value::Int(i) => i,
            Value::Bool(b) => i64::from(b),
            _ if self.is_big(idx) => {
                return Err(self.exc("IndexError", "cannot fit 'int' into an index-sized integer"));
            }
            _ => {
                let t = self.type_name(idx);
                return Err(self.exc("TypeError", &format!("{what} indices must be integers or slices, not {t}")));
            }
        };
        let j = if i < 0 { i + len as i64 } else { i };
        if j < 0 || j >= len as i64 {
            return Err(self.exc("IndexError", &format!("{what} index out of range")));
        }
        Ok(j as usize)
    }

    /// A slice's (start, stop, step) clamped to a sequence of `len`, as `slice.indices`.
    pub fn slice_indices(&mut self, s: ObjRef, len: usize) -> R<(i64, i64, i64)> {
        let Obj::Slice(a, b, c) = *self.i.heap.get(s) else { unreachable!() };
        let get = |vm: &mut Self, v: Value| -> R<Option<i64>> {
            match v {
                Value::None => Ok(None),
                Value::Int(i) => Ok(Some(i)),
                Value::Bool(b) => Ok(Some(i64::from(b))),
                // CPython saturates a huge bound (`_PyEval_SliceIndex`); 2**62 keeps the
                // arithmetic below from overflowing and is past any sequence's length.
                _ if vm.is_big(v) => {
                    Ok(Some(if vm.int_any(v).is_some_and(|i| i.is_negative()) { -(1 << 62) } else { 1 << 62 }))
                }
                _ => Err(vm.exc("TypeError", "slice indices must be integers or None or have an __index__ method")),
            }
        };
        let step = get(self, c)?.unwrap_or(1);
        if step == 0 {
            return Err(self.exc("ValueError", "slice step cannot be zero"));
        }
        let len = len as i64;
        let clamp = |v: Option<i64>, default: i64| -> i64 {
            match v {
                None => default,
                Some(v) => {
                    let v = if v < 0 { v + len } else { v };
                    if step > 0 {
                        v.clamp(0, len)
                    } else {
                        v.clamp(-1, len - 1)
                    }
                }
            }
        };
        let (start, stop) = if step > 0 {
            (clamp(get(self, a)?, 0), clamp(get(self, b)?, len))
        } else {
            (clamp(get(self, a)?, len - 1), clamp(get(self, b)?, -1))
        };
        Ok((start, stop, step))
    }

    fn slice_positions(start: i64, stop: i64, step: i64) -> Vec<usize> {
        let mut out = Vec::new();
        let mut i = start;
        while (step > 0 && i < stop) || (step < 0 && i > stop) {
            out.push(i as usize);
            i += step;
        }
        out
    }

    pub fn getitem(&mut self, obj: Value, idx: Value) -> R<Value> {
        let Value::Obj(r) = obj else {
            let t = self.type_name(obj);
            return Err(self.exc("TypeError", &format!("'{t}' object is not subscriptable")));
        };
        let slice = match idx {
            Value::Obj(s) if matches!(self.i.heap.get(s), Obj::Slice(..)) => Some(s),
            _ => None,
        };
        match self.i.heap.get(r) {
            Obj::List(v) | Obj::Tuple(v) => {
                let is_list = matches!(self.i.heap.get(r), Obj::List(_));
                let len = v.len();
                if let Some(s) = slice {
                    let (a, b, c) = self.slice_indices(s, len)?;
                    let pos = Self::slice_positions(a, b, c);
                    let items: Vec<Value> = match self.i.heap.get(r) {
                        Obj::List(v) | Obj::Tuple(v) => pos.iter().map(|&i| v[i]).collect(),
                        _ => Vec::new(),
                    };
                    return Ok(self.i.heap.alloc(if is_list { Obj::List(items) } else { Obj::Tuple(items) }));
                }
                let i = self.index_of(idx, len, if is_list { "list" } else { "tuple" })?;
                match self.i.heap.get(r) {
                    Obj::List(v) | Obj::Tuple(v) => Ok(v[i]),
                    _ => unreachable!(),
                }
            }
            Obj::Str(s) => {
                let chars: Vec<char> = s.chars().collect();
                if let Some(sl) = slice {
                    let (a, b, c) = self.slice_indices(sl, chars.len())?;
                    let out: String = Self::slice_positions(a, b, c).iter().map(|&i| chars[i]).collect();
                    return Ok(self.new_str(out));
                }
                let i = self.index_of(idx, chars.len(), "string")?;
                Ok(self.new_str(chars[i].to_string()))
            }
            Obj::Dict(_) => {
                let hk = self.hkey(idx)?;
                match self.dict_get(r, &hk) {
                    Some(v) => Ok(v),
                    None => {
                        let k = self.repr(idx)?;
                        let e = self.new_exc("KeyError", "");
                        if let Some(data) = self.exc_data_mut(e) {
                            data.args = vec![idx];
                        }
                        let _ = k;
                        Err(Flow::Exc(e))
                    }
                }
            }
            Obj::Native(super::bigops::BIGRANGE, _) => {
                let (a, b, c) = self.bigrange_parts(obj).unwrap_or((Int::ZERO, Int::ZERO, Int::Small(1)));
                self.bigrange_getitem(&a, &b, &c, idx)
            }
            Obj::Range(start, stop, step) => {
                let (start, stop, step) = (*start, *stop, *step);
                let len = range_len(start, stop, step);
                if let Some(s) = slice {
                    let (a, b, c) = self.slice_indices(s, len as usize)?;
                    // Exact (`start + b * step` or `step * c` may pass i64): a range of any size.
                    let (start, step) = (Int::Small(start), Int::Small(step));
                    let n_start = start.add(&Int::Small(a).mul(&step));
                    let n_stop = start.add(&Int::Small(b).mul(&step));
                    return self.range_new(&n_start, &n_stop, &step.mul(&Int::Small(c)));
                }
                let i = self.index_of(idx, len as usize, "range object")?;
                Ok(Value::Int(start + i as i64 * step))
            }
            Obj::Instance(_) => {
                if let Some(m) = self.user_method(obj, "__getitem__") {
                    return self.call_sync(m, &[obj, idx], &[]);
                }
                let t = self.type_name(obj);
                Err(self.exc("TypeError", &format!("'{t}' object is not subscriptable")))
            }
            _ => {
                let t = self.type_name(obj);
                Err(self.exc("TypeError", &format!("'{t}' object is not subscriptable")))
            }
        }
    }

    #[must_use]
    pub fn dict_get(&self, d: ObjRef, hk: &HKey) -> Option<Value> {
        match self.i.heap.get(d) {
            Obj::Dict(d) => d.get(hk),
            _ => None,
        }
    }

    pub fn setitem(&mut self, obj: Value, idx: Value, v: Value) -> R<()> {
        let Value::Obj(r) = obj else {
            let t = self.type_name(obj);
            return Err(self.exc("TypeError", &format!("'{t}' object does not support item assignment")));
        };
        match self.i.heap.get(r) {
            Obj::List(items) => {
                let len = items.len();
                if let Value::Obj(s) = idx {
                    if matches!(self.i.heap.get(s), Obj::Slice(..)) {
                        let (a, b, c) = self.slice_indices(s, len)?;
                        let new = self.iterate(v)?;
                        if c == 1 {
                            let b = b.max(a);
                            if let Obj::List(items) = self.i.heap.get_mut(r) {
                                items.splice(a as usize..b as usize, new);
                            }
                            return Ok(());
                        }
                        let pos = Self::slice_positions(a, b, c);
                        if pos.len() != new.len() {
                            return Err(self.exc(
                                "ValueError",
                                &format!(
                                    "attempt to assign sequence of size {} to extended slice of size {}",
                                    new.len(),
                                    pos.len()
                                ),
                            ));
                        }
                        if let Obj::List(items) = self.i.heap.get_mut(r) {
                            for (p, x) in pos.into_iter().zip(new) {
                                items[p] = x;
                            }
                        }
                        return Ok(());
                    }
                }
                let i = self.index_of(idx, len, "list assignment")?;
                if let Obj::List(items) = self.i.heap.get_mut(r) {
                    items[i] = v;
                }
                Ok(())
            }
            Obj::Dict(_) => self.dict_set(r, idx, v),
            Obj::Instance(_) => {
                if let Some(m) = self.user_method(obj, "__setitem__") {
                    self.call_sync(m, &[obj, idx, v], &[])?;
                    return Ok(());
                }
                let t = self.type_name(obj);
                Err(self.exc("TypeError", &format!("'{t}' object does not support item assignment")))
            }
            _ => {
                let t = self.type_name(obj);
                Err(self.exc("TypeError", &format!("'{t}' object does not support item assignment")))
            }
        }
    }

    pub fn delitem(&mut self, obj: Value, idx: Value) -> R<()> {
        let Value::Obj(r) = obj else {
            let t = self.type_name(obj);
            return Err(self.exc("TypeError", &format!("'{t}' object does not support item deletion")));
        };
        match self.i.heap.get(r) {
            Obj::List(items) => {
                let len = items.len();
                if let Value::Obj(s) = idx {
                    if matches!(self.i.heap.get(s), Obj::Slice(..)) {
                        let (a, b, c) = self.slice_indices(s, len)?;
                        let mut pos = Self::slice_positions(a, b, c);
                        pos.sort_unstable();
                        if let Obj::List(items) = self.i.heap.get_mut(r) {
                            for p in pos.into_iter().rev() {
                                items.remove(p);
                            }
                        }
                        return Ok(());
                    }
                }
                let i = self.index_of(idx, len, "list assignment")?;
                if let Obj::List(items) = self.i.heap.get_mut(r) {
                    items.remove(i);
                }
                Ok(())
            }
            Obj::Dict(_) => {
                let hk = self.hkey(idx)?;
                let removed = match self.i.heap.get_mut(r) {
                    Obj::Dict(d) => d.remove(&hk),
                    _ => None,
                };
                if removed.is_none() {
                    let e = self.new_exc("KeyError", "");
                    if let Some(data) = self.exc_data_mut(e) {
                        data.args = vec![idx];
                    }
                    return Err(Flow::Exc(e));
                }
                Ok(())
            }
            _ => {
                let t = self.type_name(obj);
                Err(self.exc("TypeError", &format!("'{t}' object does not support item deletion")))
            }
        }
    }

    pub fn truthy(&mut self, v: Value) -> R<bool> {
        Ok(match v {
            Value::Null | Value::None => false,
            Value::Bool(b) => b,
            Value::Int(n) => n != 0,
            Value::Float(f) => f != 0.0,
            Value::Ellipsis | Value::Native(_) => true,
            Value::Obj(r) => match self.i.heap.get(r) {
                Obj::Str(s) => !s.is_empty(),
                Obj::Big(_) => true,
                Obj::List(v) | Obj::Tuple(v) => !v.is_empty(),
                Obj::Dict(d) | Obj::Set(d, _) => !d.is_empty(),
                Obj::Range(a, b, c) => range_len(*a, *b, *c) > 0,
                Obj::Native(super::bigops::BIGRANGE, _) => {
                    let (a, b, c) = self.bigrange_parts(v).unwrap_or((Int::ZERO, Int::ZERO, Int::Small(1)));
                    !super::bigops::range_len_any(&a, &b, &c).is_zero()
                }
                Obj::Native(tag, slots) if tag.starts_with("dict_") => {
                    let (tag, d) = (*tag, slots[0]);
                    !super::builtins::view_items(self, tag, d).is_empty()
                }
                Obj::Instance(_) => {
                    if let Some(m) = self.user_method(v, "__bool__") {
                        let r = self.call_sync(m, &[v], &[])?;
                        return self.truthy(r);
                    }
                    if let Some(m) = self.user_method(v, "__len__") {
                        let r = self.call_sync(m, &[v], &[])?;
                        return Ok(r != Value::Int(0));
                    }
                    true
                }
                _ => true,
            },
        })
    }

    fn num(v: Value) -> Option<f64> {
        match v {
            Value::Int(n) => Some(n as f64),
            Value::Bool(b) => Some(f64::from(u8::from(b))),
            Value::Float(f) => Some(f),
            _ => None,
        }
    }

    fn int_of(v: Value) -> Option<i64> {
        match v {
            Value::Int(n) => Some(n),
            Value::Bool(b) => Some(i64::from(b)),
            _ => None,
        }
    }

    pub(super) fn binop_error(&mut self, op: BinOp, a: Value, b: Value) -> Flow {
        let (ta, tb) = (self.type_name(a), self.type_name(b));
        let sym = op.symbol();
        if op == BinOp::Pow {
            return self.exc("TypeError", &format!("unsupported operand type(s) for ** or pow(): '{ta}' and '{tb}'"));
        }
        if op == BinOp::Add && ta == "str" {
            return self.exc("TypeError", &format!("can only concatenate str (not \"{tb}\") to str"));
        }
        let seq = |t: &str| matches!(t, "str" | "list" | "tuple");
        if op == BinOp::Mul && (seq(&ta) || seq(&tb)) && !(ta == "int" || tb == "int") {
            let other = if seq(&ta) { &tb } else { &ta };
            return self.exc("TypeError", &format!("can't multiply sequence by non-int of type '{other}'"));
        }
        if op == BinOp::Add && (ta == "list" || ta == "tuple") && ta != tb {
            return self.exc("TypeError", &format!("can only concatenate {ta} (not \"{tb}\") to {ta}"));
        }
        self.exc("TypeError", &format!("unsupported operand type(s) for {sym}: '{ta}' and '{tb}'"))
    }

    #[allow(clippy::too_many_lines)]
    pub fn binary(&mut self, op: BinOp, a: Value, b: Value, inplace: bool) -> R<Value> {
        if let (Some(x), Some(y)) = (Self::int_of(a), Self::int_of(b)) {
            return self.int_op(op, x, y);
        }
        if let (Some(x), Some(y)) = (Self::num(a), Self::num(b)) {
            return self.float_op(op, x, y);
        }
        if let Some(v) = self.big_mixed(op, a, b, inplace)? {
            return Ok(v);
        }
        let (ra, rb) = match (a, b) {
            (Value::Obj(x), Value::Obj(y)) => (Some(x), Some(y)),
            (Value::Obj(x), _) => (Some(x), None),
            (_, Value::Obj(y)) => (None, Some(y)),
            _ => (None, None),
        };
        if let Some(x) = ra {
            match (self.i.heap.get(x), rb.map(|y| self.i.heap.get(y))) {
                (Obj::Str(s), Some(Obj::Str(t))) if op == BinOp::Add => {
                    let mut out = String::with_capacity(s.len() + t.len());
                    out.push_str(s);
                    out.push_str(t);
                    return Ok(self.new_str(out));
                }
                (Obj::List(l), Some(Obj::List(m))) if op == BinOp::Add => {
                    if inplace {
                        let m = m.clone();
                        if let Obj::List(l) = self.i.heap.get_mut(x) {
                            l.extend(m);
                        }
                        return Ok(a);
                    }
                    let mut out = l.clone();
                    out.extend_from_slice(m);
                    return Ok(self.i.heap.alloc(Obj::List(out)));
                }
                (Obj::List(_), Some(_)) if op == BinOp::Add && inplace => {
                    let items = self.iterate(b)?;
                    if let Obj::List(l) = self.i.heap.get_mut(x) {
                        l.extend(items);
                    }
                    return Ok(a);
                }
                (Obj::Tuple(l), Some(Obj::Tuple(m))) if op == BinOp::Add => {
                    let mut out = l.clone();
                    out.extend_from_slice(m);
                    return Ok(self.i.heap.alloc(Obj::Tuple(out)));
                }
                (Obj::Str(_) | Obj::List(_) | Obj::Tuple(_), None) if op == BinOp::Mul && Self::int_of(b).is_some() => {
                    return self.repeat(a, Self::int_of(b).unwrap_or(0));
                }
                (Obj::Str(s), _) if op == BinOp::Mod => {
                    let s = s.clone();
                    return self.percent_format(&s, b);
                }
                (Obj::Set(s, _), Some(Obj::Set(t, _)))
                    if matches!(op, BinOp::BitOr | BinOp::BitAnd | BinOp::Sub | BinOp::BitXor) =>
                {
                    let (s, t) = (s.clone(), t.clone());
                    let out: Vec<Value> = match op {
                        BinOp::BitOr => s.iter().map(|(k, _)| k).chain(t.iter().map(|(k, _)| k)).collect(),
                        BinOp::BitAnd => s
                            .entries
                            .iter()
                            .flatten()
                            .filter(|(k, _)| t.index.contains_key(&self.hkey_quiet(*k)))
                            .map(|(k, _)| *k)
                            .collect(),
                        BinOp::Sub => s
                            .entries
                            .iter()
                            .flatten()
                            .filter(|(k, _)| !t.index.contains_key(&self.hkey_quiet(*k)))
                            .map(|(k, _)| *k)
                            .collect(),
                        _ => s
                            .entries
                            .iter()
                            .flatten()
                            .filter(|(k, _)| !t.index.contains_key(&self.hkey_quiet(*k)))
                            .chain(
                                t.entries.iter().flatten().filter(|(k, _)| !s.index.contains_key(&self.hkey_quiet(*k))),
                            )
                            .map(|(k, _)| *k)
                            .collect(),
                    };
                    if inplace {
                        let new = self.new_set(&out)?;
                        let Value::Obj(nr) = new else { unreachable!() };
                        let d = match self.i.heap.get_mut(nr) {
                            Obj::Set(d, _) => std::mem::take(d),
                            _ => Dict::default(),
                        };
                        if let Obj::Set(s, _) = self.i.heap.get_mut(x) {
                            *s = d;
                        }
                        return Ok(a);
                    }
                    return self.new_set(&out);
                }
                (Obj::Dict(s), Some(Obj::Dict(t))) if op == BinOp::BitOr => {
                    let (s, t) = (s.clone(), t.clone());
                    let mut d = s;
                    for (hk, i) in &t.index {
                        if let Some((k, v)) = t.entries[*i] {
                            d.insert(hk.clone(), k, v);
                        }
                    }
                    if inplace {
                        *self.i.heap.get_mut(x) = Obj::Dict(d);
                        return Ok(a);
                    }
                    return Ok(self.i.heap.alloc(Obj::Dict(d)));
                }
                _ => {}
            }
        }
        if let Some(rb) = rb {
            if matches!(self.i.heap.get(rb), Obj::Str(_) | Obj::List(_) | Obj::Tuple(_)) && op == BinOp::Mul {
                if let Some(n) = Self::int_of(a) {
                    return self.repeat(b, n);
                }
            }
        }
        if op == BinOp::Mul && (self.is_big(a) || self.is_big(b)) {
            let seq = |vm: &Self, v: Value| matches!(v, Value::Obj(r) if matches!(vm.i.heap.get(r), Obj::Str(_) | Obj::List(_) | Obj::Tuple(_)));
            if seq(self, a) || seq(self, b) {
                return Err(self.index_overflow());
            }
        }
        let (name, rname) = dunder(op);
        if inplace {
            let iname = format!("__i{}", &name[2..]);
            if let Some(m) = self.user_method(a, &iname) {
                let r = self.call_sync(m, &[a, b], &[])?;
                if r != Value::Obj(self.i.types.not_implemented) {
                    return Ok(r);
                }
            }
        }
        if let Some(m) = self.user_method(a, name) {
            let r = self.call_sync(m, &[a, b], &[])?;
            if r != Value::Obj(self.i.types.not_implemented) {
                return Ok(r);
            }
        }
        if let Some(m) = self.user_method(b, rname) {
            let r = self.call_sync(m, &[b, a], &[])?;
            if r != Value::Obj(self.i.types.not_implemented) {
                return Ok(r);
            }
        }
        let _ = TypeTag::Object;
        Err(self.binop_error(op, a, b))
    }

    fn hkey_quiet(&self, v: Value) -> HKey {
        match v {
            Value::Int(n) => HKey::Int(n),
            Value::Bool(b) => HKey::Int(i64::from(b)),
            Value::None => HKey::None,
            Value::Float(f) => Self::float_hkey(f),
            Value::Obj(r) => match self.i.heap.get(r) {
                Obj::Str(s) => HKey::Str(s.clone()),
                Obj::Big(i) => HKey::Big(i.clone()),
                Obj::Tuple(items) => HKey::Tuple(items.iter().map(|x| self.hkey_quiet(*x)).collect()),
                _ => HKey::Id(r.0),
            },
            Value::Native(n) => HKey::Native(n),
            Value::Ellipsis => HKey::Ellipsis,
            Value::Null => HKey::None,
        }
    }

    fn repeat(&mut self, seq: Value, n: i64) -> R<Value> {
        let n = n.max(0) as usize;
        let Value::Obj(r) = seq else { unreachable!() };
        let len = match self.i.heap.get(r) {
            Obj::Str(s) => s.len(),
            Obj::List(v) | Obj::Tuple(v) => v.len(),
            _ => 0,
        };
        if len.saturating_mul(n) > MAX_SEQ {
            return Err(self.exc(
                "MemoryError",
                &format!("a sequence of more than {MAX_SEQ} items is past ThreadLab's memory budget"),
            ));
        }
        let o = match self.i.heap.get(r) {
            Obj::Str(s) => Obj::Str(s.repeat(n)),
            Obj::List(v) => Obj::List(v.repeat(n)),
            Obj::Tuple(v) => Obj::Tuple(v.repeat(n)),
            _ => unreachable!(),
        };
        Ok(self.i.heap.alloc(o))
    }

    fn int_op(&mut self, op: BinOp, x: i64, y: i64) -> R<Value> {
        let r = match op {
            BinOp::Add => x.checked_add(y),
            BinOp::Sub => x.checked_sub(y),
            BinOp::Mul => x.checked_mul(y),
            BinOp::Div => {
                if y == 0 {
                    return Err(self.exc("ZeroDivisionError", "division by zero"));
                }
                if x.unsigned_abs() <= 1 << 53 && y.unsigned_abs() <= 1 << 53 {
                    return Ok(Value::Float(x as f64 / y as f64));
                }
                // Past 2**53 an operand is not exact as a double: CPython's correctly
                // rounded division.
                None
            }
            BinOp::FloorDiv => {
                if y == 0 {
                    return Err(self.exc("ZeroDivisionError", "integer division or modulo by zero"));
                }
                x.checked_div_euclid(y).map(|_| {
                    let q = x / y;
                    if (x % y != 0) && ((x < 0) != (y < 0)) {
                        q - 1
                    } else {
                        q
                    }
                })
            }
            BinOp::Mod => {
                if y == 0 {
                    return Err(self.exc("ZeroDivisionError", "integer modulo by zero"));
                }
                x.checked_rem(y).map(|m| if m != 0 && ((m < 0) != (y < 0)) { m + y } else { m })
            }
            BinOp::Pow => {
                if y < 0 {
                    if x == 0 {
                        return Err(self.exc("ZeroDivisionError", "0.0 cannot be raised to a negative power"));
                    }
                    return Ok(Value::Float(crate::core::py::num::clib::pow(x as f64, y as f64)));
                }
                u32::try_from(y).ok().and_then(|e| x.checked_pow(e))
            }
            BinOp::LShift => {
                if y < 0 {
                    return Err(self.exc("ValueError", "negative shift count"));
                }
                if y >= 63 {
                    if x == 0 {
                        Some(0)
                    } else {
                        None
                    }
                } else {
                    x.checked_mul(1i64 << y)
                }
            }
            BinOp::RShift => {
                if y < 0 {
                    return Err(self.exc("ValueError", "negative shift count"));
                }
                Some(x >> y.min(63))
            }
            BinOp::BitAnd => Some(x & y),
            BinOp::BitOr => Some(x | y),
            BinOp::BitXor => Some(x ^ y),
            BinOp::MatMul => return Err(self.binop_error(op, Value::Int(x), Value::Int(y))),
        };
        match r {
            Some(v) => Ok(Value::Int(v)),
            // Past i64 (or a division to round exactly): the int of any size.
            None => self.big_binary(op, &Int::Small(x), &Int::Small(y)),
        }
    }

    pub(super) fn float_op(&mut self, op: BinOp, x: f64, y: f64) -> R<Value> {
        Ok(Value::Float(match op {
            BinOp::Add => x + y,
            BinOp::Sub => x - y,
            BinOp::Mul => x * y,
            BinOp::Div => {
                if y == 0.0 {
                    return Err(self.exc("ZeroDivisionError", "float division by zero"));
                }
                x / y
            }
            BinOp::FloorDiv => {
                if y == 0.0 {
                    return Err(self.exc("ZeroDivisionError", "float floor division by zero"));
                }
                (x / y).floor()
            }
            BinOp::Mod => {
                if y == 0.0 {
                    return Err(self.exc("ZeroDivisionError", "float modulo"));
                }
                let m = x % y;
                if m != 0.0 && ((m < 0.0) != (y < 0.0)) {
                    m + y
                } else {
                    m
                }
            }
            BinOp::Pow => {
                if x == 0.0 && y < 0.0 {
                    return Err(self.exc("ZeroDivisionError", "0.0 cannot be raised to a negative power"));
                }
                let r = crate::core::py::num::clib::pow(x, y);
                if r.is_infinite() && x.is_finite() {
                    return Err(self.exc("OverflowError", "(34, 'Numerical result out of range')"));
                }
                r
            }
            _ => return Err(self.binop_error(op, Value::Float(x), Value::Float(y))),
        }))
    }

    pub fn unary(&mut self, instr: Instr, a: Value) -> R<Value> {
        match (instr, a) {
            (Instr::UnaryNeg, Value::Int(n)) => Ok(self.int_value(Int::Small(n).neg())),
            (Instr::UnaryNeg, Value::Bool(b)) => Ok(Value::Int(-i64::from(b))),
            (Instr::UnaryNeg, Value::Float(f)) => Ok(Value::Float(-f)),
            (Instr::UnaryPos, Value::Int(_) | Value::Float(_)) => Ok(a),
            (Instr::UnaryPos, Value::Bool(b)) => Ok(Value::Int(i64::from(b))),
            (Instr::UnaryInvert, Value::Int(n)) => Ok(Value::Int(!n)),
            (Instr::UnaryInvert, Value::Bool(b)) => Ok(Value::Int(!i64::from(b))),
            (_, Value::Obj(r)) if matches!(self.i.heap.get(r), Obj::Big(_)) => {
                let Obj::Big(i) = self.i.heap.get(r) else { unreachable!() };
                let out = match instr {
                    Instr::UnaryNeg => i.neg(),
                    Instr::UnaryInvert => i.invert(),
                    _ => return Ok(a),
                };
                Ok(self.int_value(out))
            }
            _ => {
                let name = match instr {
                    Instr::UnaryNeg => "__neg__",
                    Instr::UnaryPos => "__pos__",
                    _ => "__invert__",
                };
                if let Some(m) = self.user_method(a, name) {
                    return self.call_sync(m, &[a], &[]);
                }
                let t = self.type_name(a);
                let sym = match instr {
                    Instr::UnaryNeg => "unary -",
                    Instr::UnaryPos => "unary +",
                    _ => "unary ~",
                };
                Err(self.exc("TypeError", &format!("bad operand type for {sym}: '{t}'")))
            }
        }
    }

    pub fn eq(&mut self, a: Value, b: Value) -> R<bool> {
        if let (Some(x), Some(y)) = (Self::num(a), Self::num(b)) {
            if let (Value::Int(p), Value::Float(q)) | (Value::Float(q), Value::Int(p)) = (a, b) {
                // Past 2**53 an int is not exact as a double: compare exactly.
                if p.unsigned_abs() > 1 << 53 {
                    return Ok(Int::Small(p).cmp_f64(q) == Some(std::cmp::Ordering::Equal));
                }
            }
            return Ok(x == y
                && (Self::int_of(a).is_none() || Self::int_of(b).is_none() || Self::int_of(a) == Self::int_of(b)));
        }
        match (a, b) {
            (Value::Obj(x), Value::Obj(y)) => {
                if x == y && !matches!(self.i.heap.get(x), Obj::Instance(_)) {
                    return Ok(true);
                }
                match (self.i.heap.get(x), self.i.heap.get(y)) {
                    (Obj::Str(s), Obj::Str(t)) => Ok(s == t),
                    (Obj::Big(p), Obj::Big(q)) => Ok(p == q),
                    (Obj::List(s), Obj::List(t)) | (Obj::Tuple(s), Obj::Tuple(t)) => {
                        if s.len() != t.len() {
                            return Ok(false);
                        }
                        let (s, t) = (s.clone(), t.clone());
                        if self.i.cmp_depth as usize + self.t.frames.len() >= self.i.recursion_limit {
                            return Err(self.exc("RecursionError", "maximum recursion depth exceeded in comparison"));
                        }
                        self.i.cmp_depth += 1;
                        let mut same = Ok(true);
                        for (p, q) in s.into_iter().zip(t) {
                            match self.eq(p, q) {
                                Ok(true) => {}
                                other => {
                                    same = other;
                                    break;
                                }
                            }
                        }
                        self.i.cmp_depth -= 1;
                        same
                    }
                    (Obj::Dict(s), Obj::Dict(t)) => {
                        if s.len() != t.len() {
                            return Ok(false);
                        }
                        let pairs: Vec<(HKey, Value)> =
                            s.index.iter().filter_map(|(k, i)| s.entries[*i].map(|(_, v)| (k.clone(), v))).collect();
                        for (k, v) in pairs {
                            let Some(w) = self.dict_get(y, &k) else { return Ok(false) };
                            if !self.eq(v, w)? {
                                return Ok(false);
                            }
                        }
                        Ok(true)
                    }
                    (Obj::Set(s, _), Obj::Set(t, _)) => {
                        Ok(s.len() == t.len() && s.index.keys().all(|k| t.index.contains_key(k)))
                    }
                    (Obj::Range(a1, b1, c1), Obj::Range(a2, b2, c2)) => {
                        let (l1, l2) = (range_len(*a1, *b1, *c1), range_len(*a2, *b2, *c2));
                        Ok(l1 == l2 && (l1 == 0 || (a1 == a2 && (l1 == 1 || c1 == c2))))
                    }
                    (Obj::Instance(_), _) | (_, Obj::Instance(_)) => {
                        if let Some(m) = self.user_method(a, "__eq__") {
                            let r = self.call_sync(m, &[a, b], &[])?;
                            if r != Value::Obj(self.i.types.not_implemented) {
                                return self.truthy(r);
                            }
                        }
                        if let Some(m) = self.user_method(b, "__eq__") {
                            let r = self.call_sync(m, &[b, a], &[])?;
                            if r != Value::Obj(self.i.types.not_implemented) {
                                return self.truthy(r);
                            }
                        }
                        Ok(x == y)
                    }
                    _ => Ok(x == y),
                }
            }
            (Value::None, Value::None) | (Value::Ellipsis, Value::Ellipsis) => Ok(true),
            (Value::Native(x), Value::Native(y)) => Ok(x == y),
            // A big int equals no i64 (it would be one) but may equal a float.
            (Value::Obj(_), Value::Float(_)) | (Value::Float(_), Value::Obj(_)) => {
                Ok(self.num_cmp(a, b) == Some(Some(std::cmp::Ordering::Equal)))
            }
            _ => Ok(false),
        }
    }

    /// `a < b` (and the others through `ord`): Some(ordering) or a TypeError.
    pub fn less(&mut self, op: CmpOp, a: Value, b: Value) -> R<bool> {
        if let (Some(x), Some(y)) = (Self::int_of(a), Self::int_of(b)) {
            return Ok(cmp_with(op, x.cmp(&y)));
        }
        if let Some(o) = self.num_cmp_slow(a, b) {
            return Ok(o.is_some_and(|o| cmp_with(op, o)));
        }
        if let (Some(x), Some(y)) = (Self::num(a), Self::num(b)) {
            return Ok(match op {
                CmpOp::Lt => x < y,
                CmpOp::Le => x <= y,
                CmpOp::Gt => x > y,
                _ => x >= y,
            });
        }
        if let (Value::Obj(x), Value::Obj(y)) = (a, b) {
            match (self.i.heap.get(x), self.i.heap.get(y)) {
                (Obj::Str(s), Obj::Str(t)) => return Ok(cmp_with(op, s.as_str().cmp(t.as_str()))),
                (Obj::Big(p), Obj::Big(q)) => return Ok(cmp_with(op, p.cmp(q))),
                (Obj::List(s), Obj::List(t)) | (Obj::Tuple(s), Obj::Tuple(t)) => {
                    let (s, t) = (s.clone(), t.clone());
                    for (p, q) in s.iter().zip(&t) {
                        if !self.eq(*p, *q)? {
                            if matches!(op, CmpOp::Lt | CmpOp::Le) {
                                return self.less(CmpOp::Lt, *p, *q);
                            }
                            return self.less(CmpOp::Gt, *p, *q);
                        }
                    }
                    return Ok(cmp_with(op, s.len().cmp(&t.len())));
                }
                (Obj::Set(s, _), Obj::Set(t, _)) => {
                    let sub = s.index.keys().all(|k| t.index.contains_key(k));
                    let sup = t.index.keys().all(|k| s.index.contains_key(k));
                    return Ok(match op {
                        CmpOp::Le => sub,
                        CmpOp::Lt => sub && s.len() < t.len(),
                        CmpOp::Ge => sup,
                        _ => sup && s.len() > t.len(),
                    });
                }
                _ => {}
            }
        }
        let (name, rname) = match op {
            CmpOp::Lt => ("__lt__", "__gt__"),
            CmpOp::Le => ("__le__", "__ge__"),
            CmpOp::Gt => ("__gt__", "__lt__"),
            _ => ("__ge__", "__le__"),
        };
        if let Some(m) = self.user_method(a, name) {
            let r = self.call_sync(m, &[a, b], &[])?;
            if r != Value::Obj(self.i.types.not_implemented) {
                return self.truthy(r);
            }
        }
        if let Some(m) = self.user_method(b, rname) {
            let r = self.call_sync(m, &[b, a], &[])?;
            if r != Value::Obj(self.i.types.not_implemented) {
                return self.truthy(r);
            }
        }
        let sym = match op {
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            _ => ">=",
        };
        let (ta, tb) = (self.type_name(a), self.type_name(b));
        Err(self.exc("TypeError", &format!("'{sym}' not supported between instances of '{ta}' and '{tb}'")))
    }

    pub fn contains(&mut self, container: Value, item: Value) -> R<bool> {
        if let Value::Obj(r) = container {
            match self.i.heap.get(r) {
                Obj::Str(_) => {
                    let Some(t) = self.as_str(item) else {
                        let tn = self.type_name(item);
                        return Err(
                            self.exc("TypeError", &format!("'in <string>' requires string as left operand, not {tn}"))
                        );
                    };
                    let (s, t) = (self.as_str(container).unwrap_or(""), t);
                    return Ok(s.contains(t));
                }
                Obj::Dict(_) => {
                    let hk = self.hkey(item)?;
                    return Ok(self.dict_get(r, &hk).is_some());
                }
                Obj::Set(..) => {
                    let hk = self.hkey(item)?;
                    let Obj::Set(d, _) = self.i.heap.get(r) else { unreachable!() };
                    return Ok(d.index.contains_key(&hk));
                }
                Obj::Range(a, b, c) => {
                    let (a, b, c) = (*a, *b, *c);
                    if let Some(n) = Self::int_of(item) {
                        let inside = if c > 0 { n >= a && n < b } else { n <= a && n > b };
                        return Ok(inside && (n - a) % c == 0);
                    }
                    if self.is_big(item) {
                        return Ok(false);
                    }
                }
                Obj::Native(super::bigops::BIGRANGE, _) => {
                    if let Some(x) = self.int_any(item) {
                        let (a, b, c) = self.bigrange_parts(container).unwrap_or((Int::ZERO, Int::ZERO, Int::Small(1)));
                        return Ok(Self::bigrange_contains(&a, &b, &c, &x));
                    }
                }
                Obj::Instance(_) => {
                    if let Some(m) = self.user_method(container, "__contains__") {
                        let r = self.call_sync(m, &[container, item], &[])?;
                        return self.truthy(r);
                    }
                }
                // An iterator is consumed up to the item (the rest is left), as CPython's.
                Obj::Iter(_) | Obj::Generator(_) => {
                    while let Some(x) = self.next_of(container)? {
                        if self.is(x, item) || self.eq(x, item)? {
                            return Ok(true);
                        }
                    }
                    return Ok(false);
                }
                _ => {}
            }
        }
        let items = match self.iterate(container) {
            Ok(items) => items,
            Err(Flow::Exc(_)) => {
                let t = self.type_name(container);
                return Err(self.exc("TypeError", &format!("argument of type '{t}' is not iterable")));
            }
            Err(f) => return Err(f),
        };
        for it in items {
            if self.is(it, item) || self.eq(it, item)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    #[must_use]
    pub fn is(&self, a: Value, b: Value) -> bool {
        match (a, b) {
            (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
            _ => a == b,
        }
    }

    pub fn compare(&mut self, op: CmpOp, a: Value, b: Value) -> R<Value> {
        Ok(Value::Bool(match op {
            CmpOp::Eq => self.eq(a, b)?,
            CmpOp::Ne => {
                if let Some(m) = self.user_method(a, "__ne__") {
                    let r = self.call_sync(m, &[a, b], &[])?;
                    return Ok(Value::Bool(self.truthy(r)?));
                }
                !self.eq(a, b)?
            }
            CmpOp::Is => self.is(a, b),
            CmpOp::IsNot => !self.is(a, b),
            CmpOp::In => self.contains(b, a)?,
            CmpOp::NotIn => !self.contains(b, a)?,
            _ => self.less(op, a, b)?,
        }))
    }

    /// All items of an iterable (a snapshot).
    pub fn iterate(&mut self, v: Value) -> R<Vec<Value>> {
        if let Value::Obj(r) = v {
            match self.i.heap.get(r) {
                Obj::List(items) | Obj::Tuple(items) => return Ok(items.clone()),
                Obj::Str(s) => {
                    let chars: Vec<String> = s.chars().map(|c| c.to_string()).collect();
                    return Ok(chars.into_iter().map(|c| self.new_str(c)).collect());
                }
                Obj::Dict(d) => return Ok(d.iter().map(|(k, _)| k).collect()),
                Obj::Set(d, _) => return Ok(d.set_order()),
                Obj::Native(tag, slots) if tag.starts_with("dict_") => {
                    let (tag, d) = (*tag, slots[0]);
                    return Ok(super::builtins::view_items(self, tag, d));
                }
                Obj::Range(a, b, c) => {
                    let (a, b, c) = (*a, *b, *c);
                    let n = range_len(a, b, c);
                    if n as usize > MAX_SEQ {
                        return Err(self.exc(
                            "MemoryError",
                            &format!("a sequence of more than {MAX_SEQ} items is past ThreadLab's memory budget"),
                        ));
                    }
                    return Ok((0..n).map(|i| Value::Int(a + i * c)).collect());
                }
                _ => {}
            }
        }
        let it = self.get_iter(v)?;
        let mut out = Vec::new();
        while let Some(x) = self.next_of(it)? {
            out.push(x);
            if out.len() > MAX_SEQ {
                return Err(self.exc(
                    "MemoryError",
                    &format!("a sequence of more than {MAX_SEQ} items is past ThreadLab's memory budget"),
                ));
            }
        }
        Ok(out)
    }

    /// What `a, b = v` unpacks: an iterator (a generator) gives at most `limit` items, as
    /// CPython takes one more than the targets before it says there are too many.
    pub fn unpack_items(&mut self, v: Value, limit: usize) -> R<Vec<Value>> {
        let lazy = matches!(v, Value::Obj(r) if matches!(self.i.heap.get(r), Obj::Generator(_) | Obj::Iter(_)));
        if !lazy {
            return self.iterate(v);
        }
        let mut out = Vec::new();
        while out.len() < limit {
            match self.next_of(v)? {
                Some(x) => out.push(x),
                None => break,
            }
        }
        Ok(out)
    }

    pub fn get_iter(&mut self, v: Value) -> R<Value> {
        if let Value::Obj(r) = v {
            let st = match self.i.heap.get(r) {
                Obj::List(_) | Obj::Tuple(_) => Some(IterState::Seq { seq: r, i: 0 }),
                Obj::Str(_) => Some(IterState::Str { s: r, byte: 0 }),
                Obj::Range(a, b, c) => {
                    let (a, b, c) = (*a, *b, *c);
                    // A stop within a step of i64's end: `cur += step` could overflow there.
                    if (c > 0 && b > i64::MAX - c) || (c < 0 && b < i64::MIN - c) {
                        return self.range_iter_any(&Int::Small(a), &Int::Small(b), &Int::Small(c));
                    }
                    Some(IterState::Range { cur: a, stop: b, step: c })
                }
                Obj::Native(super::bigops::BIGRANGE, _) => {
                    let (a, b, c) = self.bigrange_parts(v).unwrap_or((Int::ZERO, Int::ZERO, Int::Small(1)));
                    return self.range_iter_any(&a, &b, &c);
                }
                Obj::Dict(d) => Some(IterState::Items { items: d.iter().map(|(k, _)| k).collect(), i: 0 }),
                Obj::Set(d, _) => Some(IterState::Items { items: d.set_order(), i: 0 }),
                Obj::Native(tag, slots) if tag.starts_with("dict_") => {
                    let (tag, d) = (*tag, slots[0]);
                    let items = super::builtins::view_items(self, tag, d);
                    Some(IterState::Items { items, i: 0 })
                }
                Obj::Iter(_) | Obj::Generator(_) => return Ok(v),
                Obj::Instance(_) => {
                    if let Some(m) = self.user_method(v, "__iter__") {
                        return self.call_sync(m, &[v], &[]);
                    }
                    None
                }
                _ => None,
            };
            if let Some(st) = st {
                return Ok(self.i.heap.alloc(Obj::Iter(st)));
            }
        }
        let t = self.type_name(v);
        Err(self.exc("TypeError", &format!("'{t}' object is not iterable")))
    }

    pub fn next_of(&mut self, it: Value) -> R<Option<Value>> {
        let Value::Obj(r) = it else { return Ok(None) };
        let out = match self.i.heap.get_mut(r) {
            Obj::Iter(st) => match st {
                IterState::Range { cur, stop, step } => {
                    if (*step > 0 && *cur < *stop) || (*step < 0 && *cur > *stop) {
                        let v = *cur;
                        *cur += *step;
                        return Ok(Some(Value::Int(v)));
                    }
                    return Ok(None);
                }
                IterState::Items { items, i } => {
                    let v = items.get(*i).copied();
                    *i += 1;
                    return Ok(v);
                }
                IterState::Seq { seq, i } => (*seq, *i),
                IterState::Str { s, byte } => {
                    let (s, b) = (*s, *byte);
                    let Obj::Str(text) = self.i.heap.get(s) else { return Ok(None) };
                    let Some(c) = text[b..].chars().next() else { return Ok(None) };
                    if let Obj::Iter(IterState::Str { byte, .. }) = self.i.heap.get_mut(r) {
                        *byte += c.len_utf8();
                    }
                    return Ok(Some(self.new_str(c.to_string())));
                }
                IterState::Enumerate { it, n } => {
                    let (inner, i) = (*it, *n);
                    let Some(x) = self.next_of(inner)? else { return Ok(None) };
                    if let Obj::Iter(IterState::Enumerate { n, .. }) = self.i.heap.get_mut(r) {
                        *n += 1;
                    }
                    return Ok(Some(self.i.heap.alloc(Obj::Tuple(vec![Value::Int(i), x]))));
                }
                IterState::Zip { its, strict } => {
                    let (its, strict) = (its.clone(), *strict);
                    let mut items = Vec::with_capacity(its.len());
                    for (k, it) in its.iter().enumerate() {
                        match self.next_of(*it)? {
                            Some(x) => items.push(x),
                            None if strict && k > 0 => {
                                let msg = format!(
                                    "zip() argument {} is shorter than argument{} 1{}",
                                    k + 1,
                                    if k > 1 { "s" } else { "" },
                                    if k > 1 { format!("-{k}") } else { String::new() }
                                );
                                return Err(self.exc("ValueError", &msg));
                            }
                            None if strict => {
                                for (j, other) in its.iter().enumerate().skip(1) {
                                    if self.next_of(*other)?.is_some() {
                                        let msg = format!(
                                            "zip() argument {} is longer than argument{} 1{}",
                                            j + 1,
                                            if j > 1 { "s" } else { "" },
                                            if j > 1 { format!("-{j}") } else { String::new() }
                                        );
                                        return Err(self.exc("ValueError", &msg));
                                    }
                                }
                                return Ok(None);
                            }
                            None => return Ok(None),
                        }
                    }
                    if items.is_empty() {
                        return Ok(None);
                    }
                    return Ok(Some(self.i.heap.alloc(Obj::Tuple(items))));
                }
                IterState::Map { f, its } => {
                    let (f, its) = (*f, its.clone());
                    let mut args = Vec::with_capacity(its.len());
                    for it in its {
                        let Some(x) = self.next_of(it)? else { return Ok(None) };
                        args.push(x);
                    }
                    return self.call_sync(f, &args, &[]).map(Some);
                }
                IterState::Filter { f, it } => {
                    let (f, inner) = (*f, *it);
                    loop {
                        let Some(x) = self.next_of(inner)? else { return Ok(None) };
                        let keep = if f == Value::None { x } else { self.call_sync(f, &[x], &[])? };
                        if self.truthy(keep)? {
                            return Ok(Some(x));
                        }
                    }
                }
            },
            Obj::Generator(_) => return self.gen_step_nested(r, Value::None, None),
            Obj::Instance(_) => {
                if let Some(m) = self.user_method(it, "__next__") {
                    return match self.call_sync(m, &[it], &[]) {
                        Ok(v) => Ok(Some(v)),
                        Err(Flow::Exc(e)) => {
                            let stop = self.i.builtins["StopIteration"];
                            if self.exc_matches(e, stop)? {
                                Ok(None)
                            } else {
                                Err(Flow::Exc(e))
                            }
                        }
                        Err(f) => Err(f),
                    };
                }
                let t = self.type_name(it);
                return Err(self.exc("TypeError", &format!("'{t}' object is not an iterator")));
            }
            _ => {
                let t = self.type_name(it);
                return Err(self.exc("TypeError", &format!("'{t}' object is not an iterator")));
            }
        };
        let (seq, i) = out;
        let v = match self.i.heap.get(seq) {
            Obj::List(v) | Obj::Tuple(v) => v.get(i).copied(),
            _ => None,
        };
        if v.is_some() {
            if let Obj::Iter(IterState::Seq { i, .. }) = self.i.heap.get_mut(r) {
                *i += 1;
            }
        }
        Ok(v)
    }

    pub fn str_of(&mut self, v: Value) -> R<String> {
        if let Some(s) = self.as_str(v) {
            return Ok(s.to_owned());
        }
        if let Some(m) = self.user_method(v, "__str__") {
            let r = self.call_sync(m, &[v], &[])?;
            return Ok(self.as_str(r).unwrap_or("").to_owned());
        }
        if let Some(e) = self.exc_data(v) {
            let args = e.args.clone();
            let key_error = match (self.class_of(v), self.i.builtins.get("KeyError")) {
                (Value::Obj(c), Some(Value::Obj(k))) => self.is_subclass(c, *k),
                _ => false,
            };
            {
                return match args.len() {
                    0 => Ok(String::new()),
                    // `str(KeyError(k))` is `repr(k)`: a missing '' key still shows.
                    1 if key_error => self.repr(args[0]),
                    1 => self.str_of(args[0]),
                    _ => {
                        let t = self.i.heap.alloc(Obj::Tuple(args));
                        self.repr(t)
                    }
                };
            }
        }
        self.repr(v)
    }

    pub fn repr(&mut self, v: Value) -> R<String> {
        let mut seen = Vec::new();
        self.repr_in(v, &mut seen)
    }

    /// A class's module for its repr: `__main__` unless a module written in Rust set its
    /// `__module__` (`random.Random`).
    fn class_module(&self, c: &Class) -> String {
        c.dict.get("__module__").and_then(|m| self.as_str(*m)).unwrap_or("__main__").to_owned()
    }

    fn addr(r: ObjRef) -> String {
        format!("0x{:012x}", 0x7f00_0000_0000u64 + u64::from(r.0) * 16)
    }

    #[allow(clippy::too_many_lines)]
    fn repr_in(&mut self, v: Value, seen: &mut Vec<ObjRef>) -> R<String> {
        Ok(match v {
            Value::Null => "<NULL>".into(),
            Value::None => "None".into(),
            Value::Bool(b) => if b { "True" } else { "False" }.into(),
            Value::Int(n) => n.to_string(),
            Value::Float(f) => super::format::float_repr(f),
            Value::Ellipsis => "Ellipsis".into(),
            Value::Native(id) => {
                let name = super::builtins::NATIVES[id as usize].0;
                match name.split_once('.') {
                    Some((t, m)) => format!("<method '{m}' of '{t}' objects>"),
                    None => format!("<built-in function {name}>"),
                }
            }
            Value::Obj(r) => {
                // CPython's repr of nested containers counts against the recursion limit
                // (and a native recursion this deep would overflow the worker's stack).
                if seen.len() + self.t.frames.len() >= self.i.recursion_limit {
                    return Err(self.exc(
                        "RecursionError",
                        "maximum recursion depth exceeded while getting the repr of an object",
                    ));
                }
                if seen.contains(&r) {
                    return Ok(match self.i.heap.get(r) {
                        Obj::List(_) => "[...]".into(),
                        Obj::Dict(_) => "{...}".into(),
                        _ => "...".into(),
                    });
                }
                match self.i.heap.get(r) {
                    Obj::Str(s) => str_repr(s),
                    Obj::Big(i) => match i.to_str() {
                        Ok(s) => s,
                        Err(e) => return Err(self.num_err(e)),
                    },
                    Obj::List(items) | Obj::Tuple(items) => {
                        let is_list = matches!(self.i.heap.get(r), Obj::List(_));
                        let items = items.clone();
                        seen.push(r);
                        let mut parts = Vec::with_capacity(items.len());
                        for it in items {
                            parts.push(self.repr_in(it, seen)?);
                        }
                        seen.pop();
                        if is_list {
                            format!("[{}]", parts.join(", "))
                        } else if parts.len() == 1 {
                            format!("({},)", parts[0])
                        } else {
                            format!("({})", parts.join(", "))
                        }
                    }
                    Obj::Dict(d) => {
                        let pairs: Vec<(Value, Value)> = d.iter().collect();
                        seen.push(r);
                        let mut parts = Vec::new();
                        for (k, v) in pairs {
                            let ks = self.repr_in(k, seen)?;
                            let vs = self.repr_in(v, seen)?;
                            parts.push(format!("{ks}: {vs}"));
                        }
                        seen.pop();
                        format!("{{{}}}", parts.join(", "))
                    }
                    Obj::Set(d, frozen) => {
                        let frozen = *frozen;
                        let keys: Vec<Value> = d.set_order();
                        if keys.is_empty() {
                            return Ok(if frozen { "frozenset()".into() } else { "set()".into() });
                        }
                        let mut parts = Vec::new();
                        for k in keys {
                            parts.push(self.repr_in(k, seen)?);
                        }
                        if frozen {
                            format!("frozenset({{{}}})", parts.join(", "))
                        } else {
                            format!("{{{}}}", parts.join(", "))
                        }
                    }
                    Obj::Native(super::bigops::BIGRANGE, slots) => {
                        let slots = slots.clone();
                        let mut parts = Vec::new();
                        for x in &slots[..if slots[2] == Value::Int(1) { 2 } else { 3 }] {
                            parts.push(self.repr_in(*x, seen)?);
                        }
                        format!("range({})", parts.join(", "))
                    }
                    Obj::Range(a, b, c) => {
                        if *c == 1 {
                            format!("range({a}, {b})")
                        } else {
                            format!("range({a}, {b}, {c})")
                        }
                    }
                    Obj::Slice(a, b, c) => {
                        let (a, b, c) = (*a, *b, *c);
                        format!(
                            "slice({}, {}, {})",
                            self.repr_in(a, seen)?,
                            self.repr_in(b, seen)?,
                            self.repr_in(c, seen)?
                        )
                    }
                    Obj::Iter(
                        IterState::Enumerate { .. }
                        | IterState::Zip { .. }
                        | IterState::Map { .. }
                        | IterState::Filter { .. },
                    ) => {
                        let t = self.type_name(v);
                        format!("<{t} object at {}>", Self::addr(r))
                    }
                    Obj::Iter(_) => format!("<iterator object at {}>", Self::addr(r)),
                    Obj::Generator(g) => format!("<generator object {} at {}>", g.qualname, Self::addr(r)),
                    Obj::Function(f) => format!("<function {} at {}>", f.qualname, Self::addr(r)),
                    Obj::Cell(_) => format!("<cell at {}>", Self::addr(r)),
                    Obj::Class(c) => {
                        if c.builtin.is_some() && !c.dict.contains_key("__module__") {
                            format!("<class '{}'>", c.name)
                        } else {
                            format!("<class '{}.{}'>", self.class_module(c), c.qualname)
                        }
                    }
                    Obj::Module(name, _) => format!("<module '{name}' (built-in)>"),
                    Obj::Bound(recv, f) => {
                        let (recv, f) = (*recv, *f);
                        let fname = match f {
                            Value::Obj(fr) => match self.i.heap.get(fr) {
                                Obj::Function(func) => func.qualname.clone(),
                                _ => "?".into(),
                            },
                            Value::Native(id) => {
                                let n = super::builtins::NATIVES[id as usize].0;
                                let m = n.rsplit('.').next().unwrap_or(n).to_owned();
                                let t = self.type_name(recv);
                                let rr = self.repr_in(recv, seen)?;
                                return Ok(format!(
                                    "<built-in method {m} of {t} object at {}>",
                                    if let Value::Obj(x) = recv { Self::addr(x) } else { rr }
                                ));
                            }
                            _ => "?".into(),
                        };
                        let rs = self.repr_in(recv, seen)?;
                        format!("<bound method {fname} of {rs}>")
                    }
                    Obj::Sync(_) => {
                        crate::core::py::threads::threading::repr(self, r, &Self::addr(r)).unwrap_or_default()
                    }
                    Obj::Native(tag, slots) => {
                        let (tag, d) = (*tag, slots.first().copied().unwrap_or(Value::None));
                        if tag.starts_with("dict_") {
                            let items = super::builtins::view_items(self, tag, d);
                            let l = self.i.heap.alloc(Obj::List(items));
                            let inner = self.repr_in(l, seen)?;
                            format!("{tag}({inner})")
                        } else {
                            format!("<{tag} object at {}>", Self::addr(r))
                        }
                    }
                    Obj::Instance(inst) => {
                        let cls = inst.class;
                        let is_exc = inst.exc.is_some();
                        if let Some(m) = self.user_method(v, "__repr__") {
                            seen.push(r);
                            let out = self.call_sync(m, &[v], &[]);
                            seen.pop();
                            let out = out?;
                            return match self.as_str(out) {
                                Some(s) => Ok(s.to_owned()),
                                None => {
                                    let t = self.type_name(out);
                                    Err(self.exc("TypeError", &format!("__repr__ returned non-string (type {t})")))
                                }
                            };
                        }
                        let name = self.class_name(cls);
                        if is_exc {
                            let args = self.exc_data(v).map(|e| e.args.clone()).unwrap_or_default();
                            let mut parts = Vec::new();
                            for a in args {
                                parts.push(self.repr_in(a, seen)?);
                            }
                            format!("{name}({})", parts.join(", "))
                        } else {
                            let (m, q) = match self.i.heap.get(cls) {
                                Obj::Class(c) => (self.class_module(c), c.qualname.clone()),
                                _ => ("__main__".into(), name),
                            };
                            format!("<{m}.{q} object at {}>", Self::addr(r))
                        }
                    }
                }
            }
        })
    }

    /// Builds a class from its body's namespace.
    pub fn build_class(&mut self, name: Value, bases: Value, ns: Value) -> R<Value> {
        let name = self.as_str(name).unwrap_or("?").to_owned();
        let mut base_refs: Vec<ObjRef> = Vec::new();
        for b in self.tuple_items(bases) {
            match b {
                Value::Obj(r) if matches!(self.i.heap.get(r), Obj::Class(_)) => base_refs.push(r),
                _ => return Err(self.exc("TypeError", "bases must be types")),
            }
        }
        if base_refs.is_empty() {
            base_refs.push(self.i.types.object);
        }
        let mut dict = super::heap::Attrs::default();
        if let Value::Obj(d) = ns {
            if let Obj::Dict(d) = self.i.heap.get(d) {
                for (k, v) in d.iter() {
                    if let Some(k) = self.as_str(k) {
                        dict.insert(k.to_owned(), v);
                    }
                }
            }
        }
        // C3 linearization.
        let mut seqs: Vec<Vec<ObjRef>> = base_refs
            .iter()
            .map(|b| match self.i.heap.get(*b) {
                Obj::Class(c) => c.mro.clone(),
                _ => Vec::new(),
            })
            .collect();
        seqs.push(base_refs.clone());
        let mut mro_tail = Vec::new();
        loop {
            seqs.retain(|s| !s.is_empty());
            if seqs.is_empty() {
                break;
            }
            let cand = seqs.iter().map(|s| s[0]).find(|c| !seqs.iter().any(|s| s[1..].contains(c)));
            let Some(c) = cand else {
                return Err(self.exc("TypeError", "Cannot create a consistent method resolution order (MRO)"));
            };
            mro_tail.push(c);
            for s in &mut seqs {
                if s[0] == c {
                    s.remove(0);
                }
            }
        }
        let builtin = base_refs.iter().find_map(|b| match self.i.heap.get(*b) {
            Obj::Class(c) => c.builtin,
            _ => None,
        });
        let qualname = dict.get("__qualname__").and_then(|v| self.as_str(*v)).unwrap_or(&name).to_owned();
        let methods: Vec<ObjRef> = dict
            .values()
            .filter_map(|v| match v {
                Value::Obj(r) if matches!(self.i.heap.get(*r), Obj::Function(_)) => Some(*r),
                _ => None,
            })
            .collect();
        let cls =
            self.i.heap.alloc(Obj::Class(Class { name, qualname, bases: base_refs, mro: Vec::new(), dict, builtin }));
        let Value::Obj(cr) = cls else { unreachable!() };
        if let Obj::Class(c) = self.i.heap.get_mut(cr) {
            c.mro.push(cr);
            c.mro.extend(mro_tail);
        }
        // Zero-argument `super()` finds the class a method was defined in here (CPython's
        // `__class__` cell).
        for m in methods {
            if let Obj::Function(f) = self.i.heap.get_mut(m) {
                f.attrs.insert("\0owner".into(), cls);
            }
        }
        Ok(cls)
    }

    #[must_use]
    pub fn module_name(&self, m: Value) -> String {
        match m {
            Value::Obj(r) => match self.i.heap.get(r) {
                Obj::Module(n, _) => n.clone(),
                _ => "?".into(),
            },
            _ => "?".into(),
        }
    }

    /// `str % args`.
    fn percent_format(&mut self, fmt: &str, args: Value) -> R<Value> {
        let items = match args {
            Value::Obj(r) if matches!(self.i.heap.get(r), Obj::Tuple(_)) => self.tuple_items(args),
            _ => vec![args],
        };
        let mut out = String::new();
        let mut it = items.into_iter();
        let chars: Vec<char> = fmt.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            if chars[i] != '%' {
                out.push(chars[i]);
                i += 1;
                continue;
            }
            i += 1;
            let start = i;
            while i < chars.len() && !chars[i].is_ascii_alphabetic() && chars[i] != '%' {
                i += 1;
            }
            let Some(&conv) = chars.get(i) else {
                return Err(self.exc("ValueError", "incomplete format"));
            };
            i += 1;
            if conv == '%' {
                out.push('%');
                continue;
            }
            let spec: String = chars[start..i - 1].iter().collect();
            let Some(v) = it.next() else {
                return Err(self.exc("TypeError", "not enough arguments for format string"));
            };
            let piece = match conv {
                's' => self.str_of(v)?,
                'r' => self.repr(v)?,
                'd' | 'i' => {
                    let n = match v {
                        Value::Float(f) => Value::Int(f.trunc() as i64),
                        _ => v,
                    };
                    self.format(n, &format!("{spec}d"))?
                }
                'f' | 'e' | 'g' | 'x' | 'o' | 'X' => self.format(v, &format!("{spec}{conv}"))?,
                _ => return Err(self.exc("ValueError", &format!("unsupported format character '{conv}'"))),
            };
            if conv == 's' || conv == 'r' {
                out.push_str(&super::format::pad(&piece, &spec));
            } else {
                out.push_str(&piece);
            }
        }
        if it.next().is_some() {
            return Err(self.exc("TypeError", "not all arguments converted during string formatting"));
        }
        Ok(self.new_str(out))
    }

    /// `format(v, spec)`.
    pub fn format(&mut self, v: Value, spec: &str) -> R<String> {
        if let Some(m) = self.user_method(v, "__format__") {
            let s = self.new_str(spec.to_owned());
            let r = self.call_sync(m, &[v, s], &[])?;
            return Ok(self.as_str(r).unwrap_or("").to_owned());
        }
        if spec.is_empty() {
            return self.str_of(v);
        }
        if let Some(i) = self.int_any(v) {
            // Ints of any size: num's formatter, checked against CPython's.
            let name = if matches!(v, Value::Bool(_)) { "bool" } else { "int" };
            return crate::core::py::num::format::format_int_named(&i, spec, name).map_err(|e| self.num_err(e));
        }
        let text = match v {
            Value::Int(_) | Value::Float(_) | Value::Bool(_) => None,
            _ => Some(self.str_of(v)?),
        };
        let is_str = self.as_str(v).is_some();
        match super::format::format_spec(v, text.as_deref(), is_str, spec) {
            Ok(s) => Ok(s),
            Err(msg) => Err(self.exc("ValueError", &msg)),
        }
    }
}

fn cmp_with(op: CmpOp, o: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::{Equal, Greater, Less};
    match op {
        CmpOp::Lt => o == Less,
        CmpOp::Le => o != Greater,
        CmpOp::Gt => o == Greater,
        CmpOp::Ge => o != Less,
        _ => o == Equal,
    }
}

fn dunder(op: BinOp) -> (&'static str, &'static str) {
    match op {
        BinOp::Add => ("__add__", "__radd__"),
        BinOp::Sub => ("__sub__", "__rsub__"),
        BinOp::Mul => ("__mul__", "__rmul__"),
        BinOp::Div => ("__truediv__", "__rtruediv__"),
        BinOp::FloorDiv => ("__floordiv__", "__rfloordiv__"),
        BinOp::Mod => ("__mod__", "__rmod__"),
        BinOp::Pow => ("__pow__", "__rpow__"),
        BinOp::MatMul => ("__matmul__", "__rmatmul__"),
        BinOp::LShift => ("__lshift__", "__rlshift__"),
        BinOp::RShift => ("__rshift__", "__rrshift__"),
        BinOp::BitAnd => ("__and__", "__rand__"),
        BinOp::BitOr => ("__or__", "__ror__"),
        BinOp::BitXor => ("__xor__", "__rxor__"),
    }
}

#[must_use]
pub fn range_len(a: i64, b: i64, c: i64) -> i64 {
    // In i128: `b - a` of a range wider than i64 (`range(-2**62, 2**62 + 2**61)`) overflows
    // i64. A length past i64 saturates (`len()` raises CPython's OverflowError first).
    let (a, b, c) = (i128::from(a), i128::from(b), i128::from(c));
    let n = if c > 0 && a < b {
        (b - a + c - 1) / c
    } else if c < 0 && a > b {
        (a - b - c - 1) / (-c)
    } else {
        0
    };
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Python's `repr` of a str.
#[must_use]
pub fn str_repr(s: &str) -> String {
    let q = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(q);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(q);
    out
}
