//! Downloads of a run: its result as JSON and CSV, its timeline as SVG and PNG.
//!
//! The SVG is the panel's own drawing with the page's computed styles written into it,
//! so that it looks the same outside the page (light or dark, as shown); the PNG is that
//! SVG rasterised 2,000 px wide.

use crate::core::export;
use crate::core::timeline::{format_ms, RunResult};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, BlobPropertyBag, Element, HtmlAnchorElement, HtmlCanvasElement, HtmlImageElement, Url};

const SVG_NS: &str = "http://www.w3.org/2000/svg";
/// The PNG's width in pixels, whatever the width the timeline was drawn at.
const PNG_WIDTH: f64 = 2000.0;
/// The caption's text size and line height; it is wrapped to the drawing's width, a
/// phone's 300 px as well as a beamer's 1400.
const CAPTION_PX: f64 = 14.0;
const CAPTION_LINE: f64 = 18.0;
/// Room around the caption, left and right and above and below.
const CAPTION_MARGIN: f64 = 8.0;
/// The styles that make the drawing look like the page.
const STYLES: [&str; 11] = [
    "fill",
    "fill-opacity",
    "stroke",
    "stroke-width",
    "stroke-dasharray",
    "opacity",
    "paint-order",
    "font-family",
    "font-size",
    "font-weight",
    "font-variant-numeric",
];

/// The formats offered under each panel.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Format {
    Json,
    Csv,
    Svg,
    Png,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Json, Format::Csv, Format::Svg, Format::Png];

    #[must_use]
    pub fn extension(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Svg => "svg",
            Format::Png => "png",
        }
    }
}

/// Downloads `result` as `format`; `svg` is the panel's timeline drawing.
///
/// # Errors
/// When the browser refuses a step (the message says which).
pub async fn download(result: &RunResult, format: Format, svg: Option<Element>) -> Result<(), String> {
    let name = export::file_name(result, format.extension());
    match format {
        Format::Json => {
            let value = crate::web::js::to_js(result).map_err(describe)?;
            let text = js_sys::JSON::stringify_with_replacer_and_space(&value, &JsValue::NULL, &JsValue::from(2))
                .map_err(describe)?;
            save_text(&name, "application/json", &String::from(text))
        }
        Format::Csv => save_text(&name, "text/csv", &export::csv(result)),
        Format::Svg | Format::Png => {
            let svg = svg.ok_or("this panel has no timeline drawn")?;
            let (text, width, height) = standalone_svg(&svg, &caption(result))?;
            if format == Format::Svg {
                save_text(&name, "image/svg+xml", &text)
            } else {
                save_png(&name, &text, width, height).await
            }
        }
    }
}

fn caption(result: &RunResult) -> String {
    let size = match result.config.workload {
        crate::core::config::Workload::Io => format!("{} ms wait", result.config.duration_ms),
        crate::core::config::Workload::Cpu => format!("{} work units", result.config.units),
    };
    format!(
        "ThreadLab · {} · {} × {} {} · wall {} · {} cores",
        result.variant().label(),
        result.tasks.len(),
        result.config.workload.label(),
        size,
        format_ms(result.wall_ms),
        result.cores
    )
}

fn describe(error: JsValue) -> String {
    error
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| error.as_string())
        .unwrap_or_else(|| format!("{error:?}"))
}

fn save_text(name: &str, mime: &str, text: &str) -> Result<(), String> {
    let options = BlobPropertyBag::new();
    options.set_type(mime);
    let blob =
        Blob::new_with_str_sequence_and_options(&js_sys::Array::of1(&text.into()), &options).map_err(describe)?;
    let url = Url::create_object_url_with_blob(&blob).map_err(describe)?;
    let clicked = click_link(name, &url);
    // The download has its own reference to the blob by now.
    let _ = Url::revoke_object_url(&url);
    clicked
}

fn click_link(name: &str, href: &str) -> Result<(), String> {
    let document = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
    let link: HtmlAnchorElement = document.create_element("a").map_err(describe)?.unchecked_into();
    link.set_href(href);
    link.set_download(name);
    link.click();
    Ok(())
}

/// The drawing as a file of its own: computed styles inlined, a background and a caption.
/// Returns the text and its size in CSS pixels.
fn standalone_svg(svg: &Element, caption: &str) -> Result<(String, f64, f64), String> {
    let window = web_sys::window().ok_or("no window")?;
    let document = window.document().ok_or("no document")?;
    let copy: Element = svg.clone_node_with_deep(true).map_err(describe)?.unchecked_into();
    inline_styles(&window, svg, &copy)?;
    let view_box = svg.get_attribute("viewBox").unwrap_or_default();
    let numbers: Vec<f64> = view_box.split_whitespace().filter_map(|n| n.parse().ok()).collect();
    let [_, _, width, height] = numbers[..] else { return Err(format!("unexpected viewBox {view_box:?}")) };
    // The card's colours and font, as the page shows them now.
    let card = svg.closest(".card").ok().flatten().unwrap_or_else(|| svg.clone());
    let card_style = window.get_computed_style(&card).map_err(describe)?.ok_or("no computed style")?;
    let background = card_style.get_property_value("background-color").map_err(describe)?;
    let ink = card_style.get_property_value("color").map_err(describe)?;
    let font = card_style.get_property_value("font-family").map_err(describe)?;
    let measure = text_measure(&format!("600 {CAPTION_PX}px {font}"))?;
    let room = width - 2.0 * CAPTION_MARGIN;
    let lines = export::wrap_caption(caption, room, &measure);
    // A word wider than the whole drawing (not met at 300 px) is drawn smaller.
    let widest = lines.iter().map(|l| measure(l)).fold(0.0, f64::max);
    let size = if widest > room { CAPTION_PX * room / widest } else { CAPTION_PX };
    #[allow(clippy::cast_precision_loss)] // a handful of lines
    let caption_height = lines.len() as f64 * CAPTION_LINE + CAPTION_MARGIN + 4.0;
    let total = height + caption_height;
    let set = |el: &Element, name: &str, value: &str| el.set_attribute(name, value).map_err(describe);
    set(&copy, "viewBox", &format!("0 {} {width} {total}", -caption_height))?;
    set(&copy, "width", &width.to_string())?;
    set(&copy, "height", &total.to_string())?;
    let _ = copy.remove_attribute("style");
    let _ = copy.remove_attribute("preserveAspectRatio");
    let rect = document.create_element_ns(Some(SVG_NS), "rect").map_err(describe)?;
    for (name, value) in [
        ("x", "0".to_owned()),
        ("y", (-caption_height).to_string()),
        ("width", width.to_string()),
        ("height", total.to_string()),
        ("fill", background),
    ] {
        set(&rect, name, &value)?;
    }
    let text = document.create_element_ns(Some(SVG_NS), "text").map_err(describe)?;
    for (name, value) in [
        ("data-testid", "caption".to_owned()),
        ("fill", ink),
        ("style", format!("font-family: {font}; font-size: {size:.2}px; font-weight: 600")),
    ] {
        set(&text, name, &value)?;
    }
    for (i, line) in lines.iter().enumerate() {
        let span = document.create_element_ns(Some(SVG_NS), "tspan").map_err(describe)?;
        #[allow(clippy::cast_precision_loss)]
        let baseline = -caption_height + CAPTION_MARGIN + CAPTION_LINE * (i as f64) + CAPTION_PX;
        set(&span, "x", &CAPTION_MARGIN.to_string())?;
        set(&span, "y", &baseline.to_string())?;
        span.set_text_content(Some(line));
        text.append_child(&span).map_err(describe)?;
    }
    copy.prepend_with_node_2(&rect, &text).map_err(describe)?;
    let serialized = web_sys::XmlSerializer::new().and_then(|s| s.serialize_to_string(&copy)).map_err(describe)?;
    Ok((format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{serialized}\n"), width, total))
}

/// A line's width in CSS pixels, drawn in `font` (a canvas's measure: the page's fonts).
fn text_measure(font: &str) -> Result<impl Fn(&str) -> f64, String> {
    let document = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
    let canvas: HtmlCanvasElement = document.create_element("canvas").map_err(describe)?.unchecked_into();
    let context: web_sys::CanvasRenderingContext2d =
        canvas.get_context("2d").map_err(describe)?.ok_or("no 2d canvas")?.unchecked_into();
    context.set_font(font);
    Ok(move |line: &str| context.measure_text(line).map_or(f64::INFINITY, |m| m.width()))
}

/// Copies the computed styles of `from` and its descendants onto `to`, a deep clone of it.
fn inline_styles(window: &web_sys::Window, from: &Element, to: &Element) -> Result<(), String> {
    let computed = window.get_computed_style(from).map_err(describe)?.ok_or("no computed style")?;
    let mut style = String::new();
    for name in STYLES {
        let value = computed.get_property_value(name).map_err(describe)?;
        if !value.is_empty() {
            style.push_str(&format!("{name}: {value}; "));
        }
    }
    to.set_attribute("style", &style).map_err(describe)?;
    let (a, b) = (from.children(), to.children());
    for i in 0..a.length() {
        if let (Some(x), Some(y)) = (a.item(i), b.item(i)) {
            inline_styles(window, &x, &y)?;
        }
    }
    Ok(())
}

async fn save_png(name: &str, svg: &str, width: f64, height: f64) -> Result<(), String> {
    let document = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
    let image = HtmlImageElement::new().map_err(describe)?;
    // A data: URL (the CSP allows data: images), so the canvas stays readable.
    image.set_src(&format!("data:image/svg+xml;charset=utf-8,{}", js_sys::encode_uri_component(svg)));
    JsFuture::from(image.decode())
        .await
        .map_err(|e| format!("the drawing could not be rasterised: {}", describe(e)))?;
    let canvas: HtmlCanvasElement = document.create_element("canvas").map_err(describe)?.unchecked_into();
    // The drawing is as wide as it was shown (a phone's 300 px, a beamer's 1400): the image
    // is always 2,000 px wide, enough for a slide.
    let scale = PNG_WIDTH / width;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    {
        canvas.set_width((width * scale).round() as u32);
        canvas.set_height((height * scale).ceil() as u32);
    }
    let context: web_sys::CanvasRenderingContext2d =
        canvas.get_context("2d").map_err(describe)?.ok_or("no 2d canvas")?.unchecked_into();
    context
        .draw_image_with_html_image_element_and_dw_and_dh(&image, 0.0, 0.0, width * scale, height * scale)
        .map_err(describe)?;
    let url = canvas.to_data_url_with_type("image/png").map_err(describe)?;
    click_link(name, &url)
}
