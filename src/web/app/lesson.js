// The Lesson tab's own wasm module (pkg-lesson/, src/web/lesson.rs), fetched when the tab is
// first looked at; `host` is the page's LessonHost (src/web/app/lesson.rs); `cell`: ?cell=, one
// cell alone (or undefined).
export async function mountLesson(pageGlueUrl, root, host, cell) {
  const lesson = await import(new URL("../pkg-lesson/threadlab_lesson.js", pageGlueUrl).href);
  await lesson.default();
  lesson.mount(root, host, cell);
}
