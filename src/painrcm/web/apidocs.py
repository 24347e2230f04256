"""The API docs page (/api/docs) from files shipped with the app: the Swagger UI 5 files of the pinned
``fastapi-offline`` package (only its static files are used), started by our own script (the CSP allows
no CDN and no inline script). Swagger UI 5 because FastAPI writes OpenAPI 3.1, which Swagger UI 4 (the
``swagger-ui-bundle`` package) cannot render. When the package is missing the page still lists every
endpoint from the OpenAPI document."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

router = APIRouter(include_in_schema=False)
FILES = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "favicon.png": "image/png",
}
INIT_JS = """window.addEventListener("DOMContentLoaded", function () {
  window.ui = SwaggerUIBundle({ url: "/api/openapi.json", dom_id: "#swagger-ui", deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis], layout: "BaseLayout" });
});
"""


def _bundle_dir() -> Path | None:
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "static"
    return folder if (folder / "swagger-ui-bundle.js").is_file() else None


@router.get("/api/docs", response_class=HTMLResponse)
def docs(request: Request) -> HTMLResponse:
    title = f"{request.app.title} API"
    if _bundle_dir() is None:
        rows = "".join(
            f"<li><code>{method.upper()} {path}</code> {op.get('summary', '')}</li>"
            for path, ops in request.app.openapi()["paths"].items()
            for method, op in ops.items()
        )
        return HTMLResponse(
            f'<!doctype html><title>{title}</title><link rel="stylesheet" href="/static/app.css"><main>'
            f'<h1>{title}</h1><p><a href="/api/openapi.json">OpenAPI document</a></p><ul>{rows}</ul></main>'
        )
    return HTMLResponse(
        f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="/api/docs/files/favicon.png">
<link rel="stylesheet" href="/api/docs/files/swagger-ui.css">
<script src="/api/docs/files/swagger-ui-bundle.js" defer></script>
<script src="/api/docs/init.js" defer></script>
</head><body><div id="swagger-ui"></div></body></html>"""
    )


@router.get("/api/docs/init.js")
def init_js() -> Response:
    return Response(INIT_JS, media_type="text/javascript")


@router.get("/api/docs/files/{name}")
def files(name: str) -> Response:
    folder = _bundle_dir()
    if folder is None or name not in FILES:
        return Response("not found", status_code=404)
    return FileResponse(
        folder / name, media_type=FILES[name], headers={"Cache-Control": "public, max-age=86400"}
    )
