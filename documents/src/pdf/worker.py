"""Warm WeasyPrint worker of the `documents` crate (mono-rs).

Renders HTML to PDF for the Rust pool over stdin/stdout, importing WeasyPrint once.
Framing (all integers are unsigned 32-bit big-endian):
  request:  length, then that many bytes of UTF-8 HTML
  response: one kind byte, length, payload
            b"R" ready (payload: WeasyPrint version), sent once after start-up
            b"O" the PDF bytes
            b"E" an error message (UTF-8); the worker stays usable
End of input ends the worker. Options match `weasyprint -O fonts` so the pool and the CLI
produce the same bytes. Only data: URLs are fetched; anything else is refused.
"""

import gc
import logging
import os
import struct
import sys

WARMUP = (
    '<!DOCTYPE html><html lang="ru"><head><meta charset="utf-8"><style>'
    "@page{size:A4;margin:20mm}"
    'body{font-family:"PT Serif","Liberation Serif","DejaVu Serif",serif}'
    "</style></head><body><h1>Прогрев</h1><p>Съешь же ещё этих мягких булок.</p>"
    "<p><b>«Текст»</b> — 1 000,00 № 0123456789ABCDEF</p>"
    "<table><tr><th>A</th><td>Б</td></tr></table></body></html>"
)


def main():
    # fontTools stamps subset fonts with the current time unless SOURCE_DATE_EPOCH is set;
    # a fixed value keeps the PDF bytes independent of when they are made.
    os.environ["SOURCE_DATE_EPOCH"] = "0"
    # The protocol owns the real stdout; anything else printing to fd 1 goes to stderr.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    inp = sys.stdin.buffer

    def send(kind, payload):
        out.write(kind + struct.pack(">I", len(payload)) + payload)
        out.flush()

    def read_exact(n):
        buf = bytearray()
        while len(buf) < n:
            chunk = inp.read(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return bytes(buf)

    try:
        import weasyprint
        from weasyprint import HTML
    except Exception as e:  # noqa: BLE001 - reported to the pool
        send(b"E", ("cannot import weasyprint: %s" % e).encode("utf-8", "replace"))
        return 3
    logging.getLogger("weasyprint").setLevel(logging.ERROR)

    def fetcher(url, timeout=10, ssl_context=None):
        if url.startswith("data:"):
            return weasyprint.default_url_fetcher(url, timeout, ssl_context)
        raise ValueError("external resources are not allowed: %s" % url[:80])

    def render(html):
        return HTML(string=html, url_fetcher=fetcher).write_pdf(optimize_size=("fonts",))

    render(WARMUP)
    # Everything alive now (modules, caches) lives as long as the worker: keep it out of the
    # cyclic collector, and collect less often (layout allocates heavily). About 15% less
    # CPU per document; memory stays bounded because the pool recycles workers.
    gc.collect()
    gc.freeze()
    gc.set_threshold(50000, 20, 20)
    send(b"R", weasyprint.__version__.encode())
    while True:
        head = read_exact(4)
        if head is None:
            return 0
        (n,) = struct.unpack(">I", head)
        body = read_exact(n)
        if body is None:
            return 0
        try:
            pdf = render(body.decode("utf-8"))
        except Exception as e:  # noqa: BLE001 - reported to the pool
            message = "%s: %s" % (type(e).__name__, e)
            send(b"E", message.encode("utf-8", "replace")[:4000])
            continue
        send(b"O", pdf)


if __name__ == "__main__":
    sys.exit(main())
