"""A Streamlit client that speaks the browser's websocket protocol, for load tests without a browser.

One :class:`StreamlitClient` is one browser tab as the server sees it: it opens
``ws://HOST:PORT/_stcore/stream`` (subprotocol ``streamlit``), sends ``BackMsg`` protobufs (a
``rerun_script`` carrying a ``ClientState``: the query string, the page, the widget states and the
browser's context) and reads ``ForwardMsg`` protobufs, one per binary frame, the way the frontend does:

* ``new_session``: a script run starts; carries the session id and the page's script hash;
* ``delta``: one element or block of the page; widgets carry their element id, which for a keyed
  widget is ``$$ID-<hash>-<user key>`` (:func:`user_key`); ``st.plotly_chart(key=...)`` likewise;
* ``navigation``: the page the run showed (``st.navigation``); the browser's next rerun names it by its hash;
* ``page_info_changed``: the app rewrote the URL's query string (``st.query_params``);
* ``script_finished``: the run ended (its status says how).

Widget states are kept as the frontend keeps them: every widget element received sets the value the
browser would hold (its ``value`` when the server sets one, else its default), and
:meth:`StreamlitClient.rerun` sends them all, with the changes the "user" made, as the browser does
after an interaction. Popovers and Plotly selections (block / JSON states) are not mirrored: the
server keeps their previous values when a rerun does not mention them.

What counts as an error (``client.errors``): an exception element, an ``st.error`` alert, a script
that failed to compile, a session event reporting a compilation exception, a page not found.
Timeouts and disconnects surface as :class:`asyncio.TimeoutError` and
``websockets.exceptions.ConnectionClosed`` from :meth:`StreamlitClient.wait_for`.

Only 127.0.0.1 is meant: the benchmarks and the tests point it at their own ``AppServer``. :class:`GateClient`
submits the class password form; :class:`PageClient` opens a page by its path and holds what a browser holds for a
file uploader, an open popover and its download buttons (:func:`put_file` uploads as the browser does).
Uses the ``websockets`` package that Streamlit's server (uvicorn) already depends on.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
import urllib.request
import urllib.error
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import quote_plus

import numpy as np
from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.Slider_pb2 import Slider
from websockets.asyncio.client import connect

ID_PREFIX = "$$ID-"
MAX_FRAME_BYTES = 256 * 1024 * 1024  # the server's own limit (server.maxMessageSize) is 200 MB


def user_key(element_id: str) -> str | None:
    """The ``key=`` of a widget or chart from its element id ``$$ID-<hex hash>-<user key>``; None if unkeyed."""
    if not element_id.startswith(ID_PREFIX):
        return None
    parts = element_id.split("-", 2)
    if len(parts) < 3 or parts[2] in ("", "None"):
        return None
    return parts[2]


def query_string(**params: str) -> str:
    """``text=...&lang=en`` as the browser's ``window.location.search`` without the ``?``."""
    return "&".join(f"{k}={quote_plus(str(v))}" for k, v in params.items())


@dataclass
class Chart:
    """One ``st.plotly_chart`` element as received."""

    key: str | None
    element_id: str
    spec: str  # the figure's JSON, as sent
    run_id: str  # the script run that sent it
    received: float  # time.perf_counter() when its frame was parsed
    _figure: dict | None = None

    @property
    def figure(self) -> dict:
        if self._figure is None:
            self._figure = json.loads(self.spec)
        return self._figure

    def trace(self, index: int = 0) -> dict:
        return self.figure["data"][index]

    def z(self, index: int = 0) -> np.ndarray:
        """The trace's z as a float array, NaN where the JSON holds null (plain lists or Plotly's typed arrays)."""
        return decode_array(self.trace(index)["z"])

    def ticktext(self, axis: str = "yaxis") -> list[str]:
        return list(self.figure.get("layout", {}).get(axis, {}).get("ticktext") or [])


def decode_array(value: Any) -> np.ndarray:
    """A Plotly JSON array: nested lists (null = missing) or ``{"dtype", "bdata", "shape"}``."""
    if isinstance(value, dict) and "bdata" in value:
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = value.get("shape")
        if isinstance(shape, str):
            shape = [int(s) for s in shape.split(",")]
        return flat.reshape(shape).astype(np.float64) if shape else flat.astype(np.float64)
    return np.array([[np.nan if v is None else v for v in row] for row in value], dtype=np.float64)


@dataclass
class Widget:
    element_id: str
    kind: str  # the element's proto field: checkbox, text_input, slider, radio, selectbox; or select_slider
    value: Any


def _widget_value(kind: str, el) -> Any:
    """The value a browser holds for a freshly received widget element (``value`` if set, else default)."""
    if kind == "checkbox":
        return bool(el.value) if el.set_value else bool(el.default)
    if kind in ("text_input", "text_area"):
        field_name = "value" if el.set_value else "default"
        return getattr(el, field_name) if el.HasField(field_name) else None  # None: the widget holds no text
    if kind == "slider" and el.type == Slider.Type.SELECT_SLIDER:  # its state: the chosen options' labels
        return [el.options[int(index)] for index in (el.value if el.set_value else el.default)]
    if kind == "slider":
        return list(el.value) if el.set_value else list(el.default)
    if kind in ("radio", "selectbox"):
        if el.set_value:
            return el.raw_value
        return el.options[el.default] if 0 <= el.default < len(el.options) else None
    return None


WIDGET_KINDS = ("checkbox", "text_input", "text_area", "slider", "radio", "selectbox")


@dataclass
class StreamlitClient:
    """One simulated browser session. Use ``async with StreamlitClient(url, query=...)`` or connect/close."""

    base_url: str  # http://127.0.0.1:PORT/
    query: str = ""  # the page URL's query string, without "?"
    locale: str = "en-US"
    timezone: str = "UTC"
    watch: re.Pattern | None = None  # searched in every raw frame; matches collect in ``seen``
    on_frame: Callable[[ForwardMsg, bytes], None] | None = None
    source: str | None = None  # connect from this loopback address (127.0.0.2, ...): another computer to the server

    session_id: str = ""
    page_script_hash: str = ""
    run_id: str = ""  # the run in progress (or last run)
    runs_started: list = field(default_factory=list)  # run ids in order
    finished: dict = field(default_factory=dict)  # run id -> ScriptFinishedStatus
    widgets: dict = field(default_factory=dict)  # user key -> Widget
    charts: dict = field(default_factory=dict)  # user key -> latest Chart
    errors: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    seen: set = field(default_factory=set)
    frames: int = 0
    bytes_received: int = 0
    connected_at: float = 0.0

    def __post_init__(self):
        self.ws = None
        self.ws_url = self.base_url.replace("http://", "ws://").rstrip("/") + "/_stcore/stream"

    # --- connection --------------------------------------------------------------------------

    async def connect(self, timeout: float = 30.0) -> None:
        self.ws = await asyncio.wait_for(
            connect(
                self.ws_url,
                subprotocols=["streamlit"],
                max_size=MAX_FRAME_BYTES,
                ping_interval=None,  # the server pings; a busy client must not drop its own connection
                open_timeout=timeout,
                compression=None,
                **({"local_addr": (self.source, 0)} if self.source else {}),
            ),
            timeout,
        )
        self.connected_at = time.perf_counter()

    async def close(self) -> None:
        if self.ws is not None:
            try:
                await asyncio.wait_for(self.ws.close(), 10)
            except (asyncio.TimeoutError, OSError):
                pass

    async def __aenter__(self) -> "StreamlitClient":
        await self.connect()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    # --- sending -----------------------------------------------------------------------------

    def _client_state(self, msg: BackMsg, widget_changes: dict | None, fragment_id: str = "") -> None:
        rs = msg.rerun_script
        rs.query_string = self.query
        rs.page_script_hash = self.page_script_hash  # "" on the first run: the server picks the default page
        rs.page_name = ""
        rs.fragment_id = fragment_id
        info = rs.context_info
        info.locale = self.locale
        info.timezone = self.timezone
        info.timezone_offset = 0
        info.url = self.base_url + (f"?{self.query}" if self.query else "")
        info.is_embedded = False
        info.color_scheme = "light"
        for key, value in (widget_changes or {}).items():
            self.widgets[key].value = value
        for widget in self.widgets.values():
            if widget.value is None:
                continue
            state = rs.widget_states.widgets.add()
            state.id = widget.element_id
            if widget.kind == "checkbox":
                state.bool_value = bool(widget.value)
            elif widget.kind == "select_slider":
                state.string_array_value.data.extend(str(v) for v in widget.value)
            elif widget.kind == "slider":
                state.double_array_value.data.extend(float(v) for v in widget.value)
            else:
                state.string_value = str(widget.value)

    async def rerun(self, widget_changes: dict | None = None, fragment_id: str = "") -> float:
        """Send ``rerun_script`` with every widget's state (``widget_changes``: user key -> new value).

        Returns the perf_counter() time just before the frame was sent.
        """
        msg = BackMsg()
        self._client_state(msg, widget_changes, fragment_id)
        payload = msg.SerializeToString()
        sent = time.perf_counter()
        await self.ws.send(payload)
        return sent

    # --- receiving ---------------------------------------------------------------------------

    async def receive(self) -> ForwardMsg:
        data = await self.ws.recv()
        msg = ForwardMsg()
        msg.ParseFromString(data)
        self.frames += 1
        self.bytes_received += len(data)
        if self.watch is not None:
            self.seen.update(m.decode("utf-8", "replace") for m in self.watch.findall(data))
        self._handle(msg, time.perf_counter())
        if self.on_frame is not None:
            self.on_frame(msg, data)
        return msg

    async def wait_for(self, predicate: Callable[["StreamlitClient"], Any], timeout: float) -> Any:
        """Read frames until ``predicate(self)`` is truthy; returns its value. Raises TimeoutError or ConnectionClosed."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate(self)
            if result:
                return result
            left = deadline - time.monotonic()
            if left <= 0:
                raise asyncio.TimeoutError
            await asyncio.wait_for(self.receive(), left)

    def _handle(self, msg: ForwardMsg, now: float) -> None:
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            ns = msg.new_session
            if ns.initialize.session_id:
                if self.session_id and ns.initialize.session_id != self.session_id:
                    self.errors.append(f"session id changed: {self.session_id} -> {ns.initialize.session_id}")
                self.session_id = ns.initialize.session_id
            self.page_script_hash = ns.page_script_hash or self.page_script_hash
            self.run_id = msg.metadata.run.script_run_id
            self.runs_started.append(self.run_id)
        elif kind == "navigation":  # st.navigation names the page the run showed, as the browser then asks for it
            self.page_script_hash = msg.navigation.page_script_hash or self.page_script_hash
        elif kind == "page_info_changed":
            self.query = msg.page_info_changed.query_string
        elif kind == "script_finished":
            run_id = msg.metadata.run.script_run_id or self.run_id
            self.finished[run_id] = msg.script_finished
            if msg.script_finished == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                self.errors.append("script failed to compile")
        elif kind == "session_event":
            event = msg.session_event
            if event.WhichOneof("type") == "script_compilation_exception":
                self.errors.append(f"compilation exception: {event.script_compilation_exception.message}")
        elif kind == "page_not_found":
            self.errors.append(f"page not found: {msg.page_not_found.page_name!r}")
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            self._element(msg.delta.new_element, now)

    def _element(self, element, now: float) -> None:
        kind = element.WhichOneof("type")
        if kind == "exception":
            self.errors.append(f"exception: {element.exception.type}: {element.exception.message[:200]}")
        elif kind == "alert":
            if element.alert.format == Alert.ERROR:
                self.errors.append(f"st.error: {element.alert.body[:200]}")
            elif element.alert.format == Alert.WARNING:
                self.warnings.append(element.alert.body[:200])
        elif kind == "plotly_chart":
            chart = element.plotly_chart
            key = user_key(chart.id)
            self.charts[key or chart.id] = Chart(key, chart.id, chart.spec, self.run_id, now)
        elif kind in WIDGET_KINDS:
            el = getattr(element, kind)
            key = user_key(el.id)
            if key is not None:
                select = kind == "slider" and el.type == Slider.Type.SELECT_SLIDER
                self.widgets[key] = Widget(el.id, "select_slider" if select else kind, _widget_value(kind, el))

    # --- conditions for wait_for ---------------------------------------------------------------

    @staticmethod
    def chart_after(key: str, runs_before: int) -> Callable[["StreamlitClient"], Chart | None]:
        """The chart ``key`` sent by a run that started after the first ``runs_before`` runs."""

        def check(client: "StreamlitClient") -> Chart | None:
            chart = client.charts.get(key)
            if chart is not None and chart.run_id in client.runs_started[runs_before:]:
                return chart
            return None

        return check

    @staticmethod
    def run_finished(runs_before: int) -> Callable[["StreamlitClient"], bool]:
        """A run that started after the first ``runs_before`` runs has finished."""

        def check(client: "StreamlitClient") -> bool:
            return any(run in client.finished for run in client.runs_started[runs_before:])

        return check


# ----------------------------------------------------------------------------------- forms, pages, files
class GateClient(StreamlitClient):
    """A session that can submit the password form (a form's text and its submit button's trigger)."""

    buttons: dict = None

    def _element(self, element, now):
        super()._element(element, now)
        if element.WhichOneof("type") == "button":
            self.buttons = self.buttons or {}
            self.buttons[element.button.id.split("-", 2)[-1]] = element.button.id

    async def submit(self, guess: str) -> float:
        msg = BackMsg()
        self._client_state(msg, {"class_password": guess})
        state = msg.rerun_script.widget_states.widgets.add()
        state.id = self.buttons["class_password_enter"]
        state.trigger_value = True
        sent = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        return sent


async def opened(url: str, source: str) -> GateClient:
    client = GateClient(url, source=source)
    await client.connect()
    await client.rerun()
    await client.wait_for(StreamlitClient.run_finished(0), 60)
    await client.wait_for(lambda c: c.buttons and "class_password_enter" in c.buttons, 30)
    return client


def xsrf_token(url: str) -> str:
    """The XSRF cookie the app's health check sets, which a browser sends back as cookie and header with each
    upload (anyone can have one: it shows a server that the upload comes from its own page, nothing more)."""
    with urllib.request.urlopen(f"{url}_stcore/health", timeout=60) as response:
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            if name.strip() == "_streamlit_xsrf":
                return rest.split(";", 1)[0]
    return ""


def put_file(url: str, session_id: str, file_id: str, data: bytes, name: str = "a.txt") -> int:
    """What a browser's file uploader PUTs to Streamlit's upload endpoint; the HTTP status."""
    token = xsrf_token(url)
    boundary = "attnviz-bench-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        f"{url}_stcore/upload_file/{session_id}/{file_id}",
        data=body,
        method="PUT",
        headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "X-Xsrftoken": token,
            "Cookie": f"_streamlit_xsrf={token}",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except urllib.error.URLError:  # the server answered (403) and closed before the whole file was sent
        return "closed early"


class PageClient(GateClient):
    """A tab opened on one page's URL (the browser sends the page's path on its first run), that also holds what
    a browser holds for a file uploader, an open popover and the download buttons in it, and can ask for a
    download button's file as the browser does (a backend operation)."""

    page = ""

    def __post_init__(self):
        super().__post_init__()
        self.uploader_id, self.uploaded, self.popovers, self.downloads, self.responses = "", [], {}, {}, {}

    def _client_state(self, msg, widget_changes, fragment_id=""):
        super()._client_state(msg, widget_changes, fragment_id)
        if not self.page_script_hash and self.page:
            msg.rerun_script.page_name = self.page
        path = f"{self.base_url}{self.page}"
        msg.rerun_script.context_info.url = f"{path}?{self.query}" if self.query else path
        if self.uploader_id and self.uploaded:
            state = msg.rerun_script.widget_states.widgets.add()
            state.id = self.uploader_id
            for file_id, name, size in self.uploaded:
                state.file_uploader_state_value.uploaded_file_info.add(file_id=file_id, name=name, size=size)
        for element_id, is_open in self.popovers.items():
            state = msg.rerun_script.widget_states.widgets.add()
            state.id, state.bool_value = element_id, is_open

    def _handle(self, msg, now):
        super()._handle(msg, now)
        kind = msg.WhichOneof("type")
        if kind == "backend_operation_response":
            self.responses[msg.backend_operation_response.request_id] = msg.backend_operation_response
        elif kind == "delta" and msg.delta.WhichOneof("type") == "add_block":
            block = msg.delta.add_block
            if block.WhichOneof("type") == "popover" and block.popover.id:
                self.popovers.setdefault(block.popover.id, False)

    def _element(self, element, now):
        super()._element(element, now)
        kind = element.WhichOneof("type")
        if kind == "file_uploader":
            self.uploader_id = element.file_uploader.id
        elif kind == "download_button" and element.download_button.deferred_file_id:
            self.downloads[element.download_button.id.split("-", 2)[-1]] = element.download_button.deferred_file_id

    async def ask_for_file(self, file_id: str, request_id: str) -> None:
        msg = BackMsg()
        msg.backend_operation_request.request_id = request_id
        msg.backend_operation_request.session_id = self.session_id
        msg.backend_operation_request.deferred_file.file_id = file_id
        await self.ws.send(msg.SerializeToString())
