"""The web client and the other pages served by the app: the client's shell at `/` (and at every path it
routes itself, so that a link from an email or a reload lands on the right page), its scripts under `/app/`
(its npm libraries under `/app/vendor/`), the sample clip under `/sample/`, and the queue dashboard under
`/admin/`."""

from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"
# The web client's npm libraries (hls.js), installed by `make` from package-lock.json beside pyproject.toml.
VENDOR_DIR = Path(__file__).resolve().parents[2] / "node_modules"
