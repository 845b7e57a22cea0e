"""attnviz: the entry point — the language, the class gate, and the page navigation (the pages are in pages/)."""

import os
from pathlib import Path

# A shared server never downloads from a model hub unless its operator says so (ATTNVIZ_ALLOW_HUB=1).
# Set before transformers is first imported: huggingface_hub reads it once, at import.
if os.environ.get("ATTNVIZ_ALLOW_HUB") != "1":
    os.environ["HF_HUB_OFFLINE"] = "1"
# Every session's page runs its forward pass in its own thread, and MKL's memory manager keeps about 2 MB of
# buffers per thread that ever ran one (60 sessions at once: +110 MB RSS, kept); without it, +25 MB. Read when
# MKL starts, so set before torch is first imported.
os.environ.setdefault("MKL_DISABLE_FAST_MM", "1")

import streamlit as st  # noqa: E402

from ui.gate import admitted, guard_the_server, password_page
from ui.lang import T, ensure_language

HERE = Path(__file__).resolve().parent  # pages resolve from here, whoever runs this file

# (file, url path, catalog key of the title, icon); the first is the default page, at the site's root. Emoji, not
# :material/...: icons: the browser tab shows the page's icon, and a material one is fetched from fonts.gstatic.com
# (a request leaving a classroom's network), where an emoji is drawn in the page itself.
PAGES = [
    ("pages/0_Attention.py", "", "nav.main", "🔍"),
    ("pages/1_Compare_heads.py", "Compare_heads", "nav.compare", "⚖️"),
    ("pages/2_DCMHA.py", "DCMHA", "nav.dcmha", "🔀"),
    ("pages/3_Step_by_step.py", "Step_by_step", "nav.steps", "🧮"),
    ("pages/4_Word_order.py", "Word_order", "nav.order", "🔤"),
    ("pages/5_Encoder_decoder.py", "Encoder_decoder", "nav.seq2seq", "🔁"),
    ("pages/6_Presenter.py", "Presenter", "nav.presenter", "📽️"),
    ("pages/7_Generation.py", "Generation", "nav.generation", "✍️"),
    ("pages/8_Head_importance.py", "Head_importance", "nav.importance", "🧪"),
    ("pages/9_Images.py", "Images", "nav.images", "🖼️"),
]


guard_the_server()  # Streamlit's own endpoints obey the class password too (once per process)
ensure_language()
if admitted():
    navigation = st.navigation(
        [
            st.Page(HERE / path, title=T(key), icon=icon, url_path=url or None, default=not url)
            for path, url, key, icon in PAGES
        ]
    )
else:  # the operator set a class password (make class PASSWORD=...) and this session has not typed it yet
    # Every page's path shows the password form, so a link to /Word_order?... is neither "Page not found" nor
    # lost: after the password, the same URL (path and query) opens the page it names.
    navigation = st.navigation(
        [st.Page(password_page, title="attnviz", url_path=url or None, default=not url) for _, url, _, _ in PAGES],
        position="hidden",
    )
navigation.run()
