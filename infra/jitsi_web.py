"""What jitsi-web answers on ``/``: the Jitsi Meet index page, recognised by markers.

Source: jitsi/jitsi-meet ``index.html`` (the page the ``jitsi-meet-web`` Debian
package installs in /usr/share/jitsi-meet, which docker-jitsi-meet's web image
serves through nginx with SSI on: ``web/rootfs/defaults/meet.conf``). Since the
React rewrite (2016) the page is an empty shell the bundle renders into:
``<div id="react"></div>`` and ``<script src="libs/app.bundle.min.js?v=...">``,
with config.js and interface_config.js inlined by SSI. The same two markers are
in every stable-* release docker-jitsi-meet pins (checked 2026-11 against the
jitsi-meet index.html and derived copies of it). nginx's own pages (502 Bad
Gateway, the default "Welcome to nginx!") carry neither.
"""

from __future__ import annotations

# Both must be present: either alone also appears in other pages.
MARKERS: tuple[str, ...] = ('<div id="react"></div>', "libs/app.bundle.min.js")

# What the emulator's front serves for the page: the shape of the real one after
# SSI, trimmed (the real page inlines config.js, a few kilobytes).
INDEX_HTML = """<html itemscope itemtype="http://schema.org/Product" \
prefix="og: http://ogp.me/ns#" xmlns="http://www.w3.org/1999/html">
  <head>
    <base href="/" />
    <meta charset="utf-8">
    <title>Jitsi Meet</title>
    <meta property="og:title" content="Jitsi Meet"/>
    <script>var config = { hosts: { domain: '{domain}' } };</script>
    <script>var interfaceConfig = { APP_NAME: 'Jitsi Meet' };</script>
    <script src="libs/lib-jitsi-meet.min.js?v=139"></script>
    <script src="libs/app.bundle.min.js?v=139"></script>
  </head>
  <body>
    <div id="react"></div>
  </body>
</html>
"""


def is_jitsi_page(body: str) -> bool:
    """True when ``body`` is the Jitsi Meet index page."""
    return all(marker in body for marker in MARKERS)


def index_html(domain: str) -> str:
    return INDEX_HTML.replace("{domain}", domain)
