//! The equivalent Python for the current settings, as in the notebook.

use crate::core::config::RunConfig;
use crate::core::python;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct PythonProps {
    pub config: RunConfig,
}

#[function_component(PythonCode)]
pub fn python_code(props: &PythonProps) -> Html {
    html! {
        <section class="card python" aria-labelledby="python-title">
            <h2 id="python-title">{"The same experiment in Python"}</h2>
            <pre data-testid="python" tabindex="0"><code>{python::equivalent(&props.config)}</code></pre>
        </section>
    }
}
