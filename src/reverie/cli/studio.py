"""`reverie studio`: the local web app over every mechanism."""
from __future__ import annotations

import ipaddress
import sys

from reverie.cli.common import nonneg_int, positive_float, positive_int
from reverie.core.errors import ReverieError


def register(sub) -> None:
    p = sub.add_parser("studio", help="every mechanism in the browser, on this machine",
                       description="Reverie Studio: a local web app over every mechanism. It "
                       "listens on 127.0.0.1 and fetches nothing from the internet.")
    p.add_argument("--port", type=nonneg_int, default=7860, help="port to listen on")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on; anything but loopback needs --auth")
    p.add_argument("--folder", default="reverie-studio", help="where the studio keeps its work")
    p.add_argument("--workers", type=positive_int, default=1,
                   help="jobs run at once (two torch jobs on two cores each run slower)")
    p.add_argument("--max-upload-mb", type=positive_float, default=25.0,
                   help="largest upload accepted, in MB")
    p.add_argument("--auth", default=None, metavar="USER:PASSWORD",
                   help="require HTTP basic authentication (needed for a non-loopback --host)")
    p.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                   help="also answer to this Host name (a reverse proxy's); repeatable. Without "
                        "it only 127.0.0.1, localhost, [::1] and --host are served")
    p.add_argument("--token", default=None,
                   help="the token scripts send with every POST (X-Reverie-Token header or "
                        "_token field); made at random when not given, printed at start")
    p.add_argument("--gallery", default="gallery", metavar="DIR",
                   help="a gallery's folder (reverie gallery --out DIR): the home page shows "
                        "its pictures (default: ./gallery, where there is one)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    p.set_defaults(func=run)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run(args) -> int:
    if not is_loopback(args.host):
        if not args.auth or ":" not in args.auth:
            raise ReverieError(f"--host {args.host} would let other machines use the studio; "
                               f"give --auth USER:PASSWORD as well (or keep --host 127.0.0.1)")
        print(f"warning: the studio listens on {args.host}; anyone who can reach it and knows "
              f"the password can run jobs on this machine (it answers only to the names it is "
              f"given: add the one others use with --allow-host NAME)", file=sys.stderr)
    try:
        import uvicorn
    except ImportError:
        raise ReverieError("the studio needs uvicorn and fastapi; install them with: "
                           "pip install -e .") from None
    from reverie.studio.app import Settings, create_app

    settings = Settings(args.folder, args.workers, args.max_upload_mb, args.auth,
                        host=args.host, allow_hosts=args.allow_host, token=args.token,
                        gallery=args.gallery)
    app = create_app(settings)
    shown = f"[{args.host}]" if ":" in args.host else args.host  # an IPv6 address in a URL
    url = f"http://{shown}:{args.port}/"
    print(f"Reverie Studio at {url} (work kept in {args.folder}); Ctrl-C stops it\n"
          f"token for scripts that post to it: {settings.token} (the X-Reverie-Token header); "
          f"it answers to Host {', '.join(settings.hosts)}", file=sys.stderr)
    if not args.no_browser:
        import threading
        import webbrowser
        threading.Timer(1.0, lambda: webbrowser.open(url)).start()
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
