"""Render a summary the way a reviewer sees it on GitHub: markdown to HTML, Mermaid in a real browser, a screenshot.

markdown-it-py (CommonMark + GitHub's tables, raw HTML allowed as GitHub allows <details>/<sub>/<br>) makes the
HTML, styled with github-markdown-css at the width of a pull-request comment; Debian's chromium, headless, runs
the `mermaid` npm package on each ```mermaid block. The page reports back through its DOM (--dump-dom): Mermaid
errors, the error boxes Mermaid draws, where the first collapsed section starts and the diagrams' sizes. A second
run takes the full-page screenshot, kept in tests/render/artifacts/ (gitignored).

    python tests/render/render_check.py FILE.md [NAME]     # prints the measurements, writes artifacts/NAME.png

.ci/run installs chromium (apt) and the npm packages (tests/render/package.json).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE / "artifacts"
NODE_MODULES = HERE / "node_modules"
COMMENT_WIDTH = 780  # px: the body of a comment in a pull request's conversation on a 1280 px wide window
SCREEN_HEIGHT = 900  # px of comment visible at once on a laptop screen below the browser's and GitHub's bars
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
    "--allow-file-access-from-files", "--virtual-time-budget=20000",
]


@dataclass
class Rendered:
    errors: list[str]  # Mermaid parse/render errors and error boxes
    first_collapsed_top: float | None  # px from the top of the comment to its first <details>
    height: float  # px, the whole comment with collapsed parts closed
    diagrams: list[dict[str, float]]  # rendered width/height of each Mermaid SVG
    screenshot: Path | None
    html_path: Path


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def missing() -> str | None:
    """Why the check cannot run here, or None."""
    if chromium() is None:
        return "chromium is not installed (.ci/run installs Debian's chromium)"
    if not (NODE_MODULES / "mermaid" / "dist" / "mermaid.min.js").is_file():
        return "the mermaid npm package is not installed (npm install --prefix tests/render)"
    try:
        import markdown_it  # noqa: F401
    except ImportError:
        return "markdown-it-py is not installed (pip install -e '.[test]')"
    return None


def to_html(markdown: str) -> str:
    from markdown_it import MarkdownIt

    parser = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    default_fence = parser.renderer.rules.get("fence")

    def fence(renderer, tokens, idx, options, env):  # type: ignore[no-untyped-def]
        token = tokens[idx]
        if token.info.strip() == "mermaid":
            return f'<pre class="mermaid">{html.escape(token.content)}</pre>\n'
        return default_fence(tokens, idx, options, env)  # type: ignore[misc]

    parser.add_render_rule("fence", fence)
    return parser.render(markdown)


_PAGE = """<!doctype html>
<html><head><meta charset="utf-8">
<link rel="stylesheet" href="{css}">
<style>
  body {{ margin: 0; background: #fff; }}
  .markdown-body {{ box-sizing: content-box; width: {width}px; padding: 16px; border: 1px solid #d0d7de;
                    border-radius: 6px; margin: 8px; }}
  pre.mermaid {{ background: transparent; }}
</style>
<script src="{mermaid}"></script>
</head><body>
<article class="markdown-body" id="comment">{body}</article>
<pre id="dbreview-result" style="display:none"></pre>
<script>
(async () => {{
  const result = {{errors: [], diagrams: []}};
  try {{
    mermaid.initialize({{startOnLoad: false, securityLevel: "strict", theme: "default"}});
    await mermaid.run({{querySelector: "pre.mermaid", suppressErrors: false}});
  }} catch (e) {{
    result.errors.push("mermaid: " + String((e && e.message) || e));
  }}
  document.querySelectorAll("pre.mermaid").forEach((el) => {{
    const svg = el.querySelector("svg");
    if (!svg) {{ result.errors.push("a mermaid block was not rendered"); return; }}
    if (svg.getAttribute("aria-roledescription") === "error" || /Syntax error/.test(el.textContent)) {{
      result.errors.push("mermaid error box: " + el.textContent.slice(0, 200));
    }}
    const box = svg.getBoundingClientRect();
    const view = svg.viewBox && svg.viewBox.baseVal;
    // How much Mermaid shrank the drawing to fit the comment: text is drawn at about this times its size.
    const scale = view && view.width ? box.width / view.width : 1;
    result.diagrams.push({{width: box.width, height: box.height, scale: scale}});
  }});
  const article = document.getElementById("comment");
  const top = article.getBoundingClientRect().top;
  const first = article.querySelector("details");
  result.first_collapsed_top = first ? first.getBoundingClientRect().top - top : null;
  result.height = article.getBoundingClientRect().height + 16;
  document.getElementById("dbreview-result").textContent = JSON.stringify(result);
}})();
</script>
</body></html>
"""


def _page(markdown: str, folder: Path) -> Path:
    css = NODE_MODULES / "github-markdown-css" / "github-markdown-light.css"
    page = _PAGE.format(css=css.as_uri(), mermaid=(NODE_MODULES / "mermaid" / "dist" / "mermaid.min.js").as_uri(),
                        width=COMMENT_WIDTH, body=to_html(markdown))
    path = folder / "summary.html"
    path.write_text(page, encoding="utf-8")
    return path


def _run(args: list[str], profile: str) -> subprocess.CompletedProcess[str]:
    browser = chromium()
    assert browser is not None
    return subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                          text=True, timeout=180, env={**os.environ, "HOME": profile})


def render(markdown: str, name: str, *, screenshot: bool = True) -> Rendered:
    """Render `markdown` in headless chromium; the screenshot goes to artifacts/<name>.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{name}.md").write_text(markdown, encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="dbreview-render-") as tmp:
        folder = Path(tmp)
        page = _page(markdown, folder)
        shutil.copy(page, ARTIFACTS / f"{name}.html")
        done = _run(["--window-size=840,2000", "--dump-dom", page.as_uri()], str(folder / "profile-dom"))
        found = re.search(r'<pre id="dbreview-result"[^>]*>(.*?)</pre>', done.stdout, re.S)
        if not found or not found.group(1).strip():
            raise RuntimeError(f"chromium gave no result (exit {done.returncode}): {done.stderr[-2000:]}")
        data = json.loads(html.unescape(found.group(1)))
        shot: Path | None = None
        if screenshot:
            shot = ARTIFACTS / f"{name}.png"
            height = int(min(max(data["height"] + 40, 200), 16000))
            taken = _run([f"--window-size=840,{height}", f"--screenshot={shot}", page.as_uri()],
                         str(folder / "profile-shot"))
            if not shot.is_file():
                raise RuntimeError(f"chromium took no screenshot (exit {taken.returncode}): {taken.stderr[-2000:]}")
    return Rendered(errors=data["errors"], first_collapsed_top=data["first_collapsed_top"], height=data["height"],
                    diagrams=data["diagrams"], screenshot=shot, html_path=ARTIFACTS / f"{name}.html")


if __name__ == "__main__":
    why = missing()
    if why:
        sys.exit(f"render check unavailable: {why}")
    source = Path(sys.argv[1])
    result = render(source.read_text(encoding="utf-8"), sys.argv[2] if len(sys.argv) > 2 else source.stem)
    print(json.dumps({**result.__dict__, "screenshot": str(result.screenshot), "html_path": str(result.html_path)},
                     indent=2))
