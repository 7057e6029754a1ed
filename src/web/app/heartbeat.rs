//! The heartbeat dot: see [`crate::web::heartbeat`] for why a timer starts each beat.

use crate::core::timeline::format_ms;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct HeartbeatProps {
    /// The longest frame gap of the last main-thread run.
    pub last_gap: Option<f64>,
}

#[function_component(Heartbeat)]
pub fn heartbeat(props: &HeartbeatProps) -> Html {
    let dot = use_node_ref();
    {
        let dot = dot.clone();
        use_effect_with((), move |()| {
            if let Some(el) = dot.cast::<web_sys::Element>() {
                crate::web::heartbeat::start(el);
            }
        });
    }
    html! {
        <div class="heartbeat" title="Beats once a second while the page's main thread is free to run">
            <span class="dot" ref={dot} aria-hidden="true"></span>
            <span class="heartbeat-text">
                <strong>{"Page heartbeat"}</strong>
                <span data-testid="frame-gap">
                    { match props.last_gap {
                        Some(gap) => format!("longest freeze in the last main-thread run: {}", format_ms(gap)),
                        None => "stops whenever the page's thread is blocked".to_owned(),
                    } }
                </span>
            </span>
        </div>
    }
}
