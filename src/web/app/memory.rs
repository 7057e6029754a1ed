//! Shared versus separate memory: the experiment and its results.

use super::inspector::LabRef;
use super::state::State;
use crate::core::config::{Engine, RawValue};
use crate::core::timeline::format_ms;
use std::rc::Rc;
use web_sys::HtmlSelectElement;
use yew::prelude::*;

const SIZES: [(u32, &str); 4] = [(1024, "1 KB"), (1 << 20, "1 MB"), (16 << 20, "16 MB"), (64 << 20, "64 MB")];

#[derive(Properties, PartialEq)]
pub struct MemoryProps {
    pub state: UseReducerHandle<State>,
    pub lab: Rc<LabRef>,
}

#[function_component(Memory)]
pub fn memory(props: &MemoryProps) -> Html {
    let bytes = use_state(|| 1u32 << 20);
    let on_size = {
        let bytes = bytes.clone();
        Callback::from(move |e: Event| {
            bytes.set(e.target_unchecked_into::<HtmlSelectElement>().value().parse().unwrap_or(1 << 20));
        })
    };
    let on_run = {
        let (lab, bytes) = (props.lab.0.clone(), *bytes);
        Callback::from(move |_: MouseEvent| {
            let lab = lab.clone();
            wasm_bindgen_futures::spawn_local(async move {
                for engine in ["threads", "processes"] {
                    if lab.memory(&RawValue::Text(engine.into()), &RawValue::Number(f64::from(bytes))).await.is_err() {
                        break;
                    }
                }
            });
        })
    };
    let row = |engine: Engine| {
        let r = props.state.memory.iter().find(|m| m.engine == engine);
        html! {
            <tr data-testid={format!("memory-{}", engine.key())}>
                <th scope="row">{engine.label()}</th>
                {match r {
                    Some(r) => html!{ <>
                        <td>{r.parent_sees_items}</td>
                        <td>{r.returned_items}</td>
                        <td>{ match r.mb_per_s {
                            Some(rate) => format!("{} there and back: {} ({rate:.0} MB/s)", size_label(r.bytes), format_ms(r.copy_ms)),
                            None => format!("{}: a reference, handed over in {}", size_label(r.bytes), format_ms(r.copy_ms)),
                        } }</td>
                    </> },
                    None => html!{ <td colspan="3" class="muted">{"not run yet"}</td> },
                }}
            </tr>
        }
    };
    html! {
        <section class="card memory" aria-labelledby="memory-title">
            <h2 id="memory-title">{"Memory: shared by threads, copied for processes"}</h2>
            <p class="hint">{"Two threads each append a result to one list in their process's memory: the process sees both, \
                nothing copied. Two processes each append to their own copy of the list: the parent's stays empty unless \
                results are sent back as messages — and whatever is sent is copied, as multiprocessing pickles it."}</p>
            <div class="race-controls">
                <label class="preset">{"Data "}
                    <select onchange={on_size} data-testid="memory-size">
                        {for SIZES.iter().map(|(b, label)| html!{ <option value={b.to_string()} selected={*b == *bytes}>{*label}</option> })}
                    </select>
                </label>
                <button onclick={on_run} disabled={props.state.busy()} data-testid="memory-run">{"Run on threads and processes"}</button>
            </div>
            <div class="table-scroll" tabindex="0" role="region" aria-label="Memory results">
            <table class="race-table">
                <thead><tr><th scope="col">{"engine"}</th><th scope="col">{"results in the parent's own list"}</th>
                    <th scope="col">{"sent back as messages"}</th><th scope="col">{"handing the data over"}</th></tr></thead>
                <tbody>{row(Engine::Threads)}{row(Engine::Processes)}</tbody>
            </table>
            </div>
            <pre class="python-mini" tabindex="0"><code>{"# threads: results.append(x) in each thread -> the same list\n\
    # processes: results go through multiprocessing.Queue (pickled, copied):\n\
    q = multiprocessing.Queue(); q.put(data); data = q.get()"}</code></pre>
        </section>
    }
}

fn size_label(bytes: u32) -> String {
    SIZES.iter().find(|(b, _)| *b == bytes).map_or_else(|| format!("{bytes} bytes"), |(_, l)| (*l).to_owned())
}
