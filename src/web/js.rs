//! Values crossing the Rust/JavaScript boundary: JS objects read as untrusted raw values, and
//! Rust values written out as plain JSON-like JS. Below both the API (`api`) and the page
//! (`app`), which each use it, so neither imports the other for it.

use crate::core::config::{RawConfig, RawValue};
use js_sys::Reflect;
use serde::Serialize;
use wasm_bindgen::prelude::*;

/// `config[name]` as a [`RawValue`].
#[must_use]
pub fn field(config: &JsValue, name: &str) -> RawValue {
    raw_value(&Reflect::get(config, &name.into()).unwrap_or(JsValue::UNDEFINED))
}

/// A JavaScript value as a [`RawValue`]: what it is, never trusted.
#[must_use]
pub fn raw_value(value: &JsValue) -> RawValue {
    if value.is_undefined() {
        RawValue::Missing
    } else if let Some(n) = value.as_f64() {
        RawValue::Number(n)
    } else if let Some(s) = value.as_string() {
        RawValue::Text(s)
    } else if value.is_null() {
        RawValue::Other("null".into())
    } else if let Some(b) = value.as_bool() {
        RawValue::Bool(b)
    } else if js_sys::Array::is_array(value) {
        RawValue::Other("a list".into())
    } else {
        RawValue::Other("an object".into())
    }
}

/// Reads a config object from JavaScript without trusting any of it.
#[must_use]
pub fn raw_config(config: &JsValue) -> RawConfig {
    let config = if config.is_object() { config.clone() } else { JsValue::UNDEFINED };
    let get = |name| {
        if config.is_undefined() {
            RawValue::Missing
        } else {
            field(&config, name)
        }
    };
    // `bad_task: {id, kind}`; missing or null means none.
    let bad_task = if config.is_undefined() {
        JsValue::UNDEFINED
    } else {
        Reflect::get(&config, &"bad_task".into()).unwrap_or(JsValue::UNDEFINED)
    };
    // A list is an object to JavaScript, but it has no id or kind: say what shape is expected.
    let is_record = bad_task.is_object() && !js_sys::Array::is_array(&bad_task);
    let bad = |name| if is_record { field(&bad_task, name) } else { RawValue::Missing };
    let bad_task_other = if is_record || bad_task.is_null() || bad_task.is_undefined() {
        RawValue::Missing
    } else {
        raw_value(&bad_task)
    };
    RawConfig {
        engine: get("engine"),
        workload: get("workload"),
        tasks: get("tasks"),
        duration_ms: get("duration_ms"),
        units: get("units"),
        workers: get("workers"),
        gil: get("gil"),
        switch_interval_ms: get("switch_interval_ms"),
        bad_task_id: bad("id"),
        bad_task_kind: bad("kind"),
        bad_task_other,
        timeout_ms: get("timeout_ms"),
    }
}

/// A value as plain JSON-compatible JS (objects, arrays, numbers, strings; no Maps).
///
/// # Errors
/// When serde_wasm_bindgen cannot represent `value`.
pub fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| JsValue::from(js_sys::Error::new(&e.to_string())))
}
