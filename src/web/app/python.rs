//! The equivalent Python for the current settings, as in the notebook.

use crate::core::config::RunConfig;
use crate::core::python;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct PythonProps {
    pub config: RunConfig,
    /// Opens the Code view with this code and runs it.
    pub on_edit_and_run: Callback<String>,
}

#[function_component(PythonCode)]
pub fn python_code(props: &PythonProps) -> Html {
    let code = python::equivalent(&props.config);
    let onclick = {
        let (code, cb) = (code.clone(), props.on_edit_and_run.clone());
        Callback::from(move |_: MouseEvent| cb.emit(code.clone()))
    };
    html! {
        <section class="card python" aria-labelledby="python-title">
            <div class="card-head">
                <h2 id="python-title">{"The same experiment in Python"}</h2>
                <button class="small" {onclick} data-testid="edit-and-run">{"Edit and run"}</button>
            </div>
            <pre data-testid="python" tabindex="0"><code>{code}</code></pre>
        </section>
    }
}
