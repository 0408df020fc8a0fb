"""The clip figures of `make bench` (issue 11): the check's CPU, the form's weight, memory during an upload.

bench/measure.py calls these on the first database only (none depends on it):

- `measure_check_cpu`: `clones.media.check_media` (decode and speech measure, with the player's WAV
  written, as the worker runs it) on a 60 s spoken clip, in CPU seconds of this process (`time.process_time`,
  every thread of it: the speech detector's included), the median of several runs after one that loads the
  detector. Two files of the same 60 s: the WAV espeak-ng speaks (22.05 kHz mono, cut from the tests' 75 s
  clip) and the MP3 a phone or a computer makes of it (44.1 kHz stereo, 128 kbit/s).
- `measure_form_weight`: the New clone form as a browser with an empty cache loads it from gunicorn: the HTML,
  then every same-origin script (the waveform library included), stylesheet, icon and image it references,
  and every font and image those stylesheets reference, bytes as sent (compressed when whitenoise has a
  compressed copy and the request accepts it). Counted twice: asking `gzip, deflate, br` (Chromium over HTTPS)
  and `gzip, deflate` (Chromium over plain HTTP, or an install without Brotli).
- `measure_upload_memory`: a 200 MB file (just under CLIP_MAX_BYTES) posted to /tasks/clips/ as the form's
  script posts it (multipart, signed in, CSRF token), streamed from a generator over one connection, while
  every gunicorn worker's resident memory (VmRSS) is read every 20 ms; the figure is the largest rise of any
  worker above its own level just before the upload, after small uploads have loaded the views' code in
  every worker.
"""

from __future__ import annotations

import http.client
import re
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from bench.processes import child_pids

BASE_DIR = Path(__file__).resolve().parent.parent
CHECK_RUNS = 5
CLIP_SECONDS = 60.0
UPLOAD_CHUNK = 256 * 1024
# Below CLIP_MAX_BYTES by a margin, so the upload is taken, not refused, whatever the multipart envelope.
UPLOAD_MARGIN = 1024 * 1024
_CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)['"]?\s*\)""")
_CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def log(message: str) -> None:
    from bench.measure import log as measure_log

    measure_log(message)


# --- checking a 60 s clip --------------------------------------------------------------------------------


def sixty_second_clips(folder: Path) -> dict[str, Path]:
    """The first 60 s of the tests' 75 s English clip (45 s of speech), as a WAV and as an MP3."""
    import av

    from clones import media
    from tests.clips import clip_path

    wav = folder / "speech-60s.wav"
    media.write_clip(clip_path("speech-en-75"), wav, end=CLIP_SECONDS)
    mp3 = folder / "speech-60s.mp3"
    with av.open(str(wav)) as source, av.open(str(mp3), "w") as output:
        stream = output.add_stream("libmp3lame", rate=44100, layout="stereo")
        stream.bit_rate = 128_000
        resampler = av.AudioResampler(format=stream.format.name, layout="stereo", rate=44100)
        for frame in source.decode(audio=0):
            for converted in resampler.resample(frame):
                output.mux(stream.encode(converted))
        for converted in resampler.resample(None):
            output.mux(stream.encode(converted))
        output.mux(stream.encode(None))
    return {"WAV 22.05 kHz mono": wav, "MP3 44.1 kHz stereo": mp3}


def measure_check_cpu(runs: int = CHECK_RUNS) -> dict[str, Any]:
    """CPU seconds of one check of a 60 s clip, per file: the median of `runs`, after a first (cold) one."""
    from clones import media

    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="soundclone-bench-clips-") as folder:
        for label, path in sixty_second_clips(Path(folder)).items():
            preview = Path(folder) / "preview.wav"
            samples = []
            for _ in range(runs + 1):
                started = time.process_time()
                check = media.check_media(path, preview_path=preview)
                samples.append(time.process_time() - started)
            results[label] = {
                "cold": samples[0],
                "median": statistics.median(samples[1:]),
                "runs": samples[1:],
                "seconds": check.seconds,
                "speech_seconds": check.speech_seconds,
                "bytes": path.stat().st_size,
            }
            log(f"checking a 60 s clip ({label}): {results[label]['median']:.2f} s of CPU")
    return results


# --- the form's weight -----------------------------------------------------------------------------------


def _css_references(css: str) -> list[tuple[str, str]]:
    """Fonts and images a stylesheet references (data: URLs are inside it already)."""
    found = []
    for reference in _CSS_URL.findall(css):
        if reference.startswith(("data:", "#")):
            continue
        extension = urlsplit(reference).path.rsplit(".", 1)[-1].lower()
        found.append(("font" if extension in ("woff2", "woff", "ttf", "otf", "eot") else "image", reference))
    return found


def measure_form_weight(base_url: str, cookie_name: str, session_id: str) -> dict[str, Any]:
    """A cold load of /tasks/new/ with everything a browser downloads for it, by kind, bytes as sent."""
    from bench.measure import _ResourceParser, cookie_session, fetch_as_sent

    origin = urlsplit(base_url)[:2]
    page_url = f"{base_url}/tasks/new/"
    results: dict[str, Any] = {}
    for label, accept in (("br", "gzip, deflate, br"), ("gzip", "gzip, deflate")):
        session = cookie_session(cookie_name, session_id)  # a fresh one: nothing cached
        document_bytes, html = fetch_as_sent(session, page_url, accept)
        parser = _ResourceParser()
        parser.feed(html.decode("utf-8", errors="replace"))
        kinds = {"html": document_bytes, "js": 0, "css": 0, "font": 0, "image": 0}
        waveform = 0
        other_hosts: list[str] = []
        seen: set[str] = set()
        fetched = 1
        queue = [(kind, urljoin(page_url, reference)) for kind, reference in parser.resources]
        while queue:
            kind, url = queue.pop(0)
            if url in seen:
                continue
            seen.add(url)
            if urlsplit(url)[:2] != origin:
                other_hosts.append(url)
                continue
            if kind == "media":
                continue  # the clip player has preload="none" until a clip is shown
            size, body = fetch_as_sent(session, url, accept)
            fetched += 1
            if kind == "css":
                if not body:  # Brotli: the text is needed for its url()s
                    body = requests.get(url, headers={"Accept-Encoding": "identity"}, timeout=30).content
                queue += [
                    (sub_kind, urljoin(url, reference))
                    for sub_kind, reference in _css_references(body.decode("utf-8", errors="replace"))
                ]
            elif kind == "other":
                kind = "image"  # the icon, or an <img>
            kinds[kind] += size
            if "/vendor/wavesurfer/" in url:
                waveform += size
        results[label] = {
            "bytes": sum(kinds.values()),
            "by_kind": kinds,
            "waveform_library": waveform,
            "requests": fetched,
            "other_hosts": len(other_hosts),
        }
    return results


# --- a web worker during a 200 MB upload -----------------------------------------------------------------


def _rss_kb(pid: int) -> tuple[int, int] | None:
    """(VmRSS, VmHWM) of a process in kB, or None when it is gone."""
    try:
        fields = dict(
            line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
        )
        return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])
    except (OSError, KeyError, ValueError):
        return None


def _has_loaded_media_libraries(pid: int) -> bool:
    """Whether a process has PyAV's FFmpeg mapped (its first request has imported the clip views)."""
    try:
        return "libavcodec" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def _wav_header(data_bytes: int) -> bytes:
    """A 16-bit mono 22.05 kHz WAV header for `data_bytes` of sound: the upload looks like what users send."""
    rate = 22050
    return (
        b"RIFF"
        + (36 + data_bytes).to_bytes(4, "little")
        + b"WAVEfmt "
        + (16).to_bytes(4, "little")
        + (1).to_bytes(2, "little")
        + (1).to_bytes(2, "little")
        + rate.to_bytes(4, "little")
        + (rate * 2).to_bytes(4, "little")
        + (2).to_bytes(2, "little")
        + (16).to_bytes(2, "little")
        + b"data"
        + data_bytes.to_bytes(4, "little")
    )


def _multipart(file_bytes: int, boundary: str) -> tuple[bytes, Iterator[bytes], bytes]:
    """The upload's head (the `source` field, the file part's headers), its file body lazily, and its tail."""
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="source"\r\n\r\nfile\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="interview.wav"\r\n'
        f"Content-Type: audio/wav\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def body() -> Iterator[bytes]:
        header = _wav_header(file_bytes - 44)
        yield header
        # Quiet noise, made once: the client holds one chunk at a time, never the file.
        pattern = bytes((index * 7919) % 251 // 32 for index in range(UPLOAD_CHUNK))
        left = file_bytes - len(header)
        while left > 0:
            piece = pattern[: min(left, UPLOAD_CHUNK)]
            left -= len(piece)
            yield piece

    return head, body(), tail


def post_upload(base_url: str, session: requests.Session, file_bytes: int) -> tuple[int, float]:
    """POST a file of `file_bytes` to /tasks/clips/ as the form does, streamed; (status, seconds)."""
    form = session.get(f"{base_url}/tasks/new/", timeout=30)
    form.raise_for_status()
    token = _CSRF_FIELD.search(form.text)
    if token is None:
        raise RuntimeError("the New clone form has no CSRF token")
    boundary = uuid.uuid4().hex
    head, body, tail = _multipart(file_bytes, boundary)
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=300)
    cookies = "; ".join(f"{name}={value}" for name, value in session.cookies.items())
    started = time.perf_counter()
    try:
        connection.putrequest("POST", "/tasks/clips/")
        connection.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        connection.putheader("Content-Length", str(len(head) + file_bytes + len(tail)))
        connection.putheader("Cookie", cookies)
        connection.putheader("X-CSRFToken", token.group(1))
        connection.putheader("Referer", f"{base_url}/tasks/new/")
        connection.endheaders()
        connection.send(head)
        for chunk in body:
            connection.send(chunk)
        connection.send(tail)
        response = connection.getresponse()
        response.read()
        return response.status, time.perf_counter() - started
    finally:
        connection.close()


def measure_upload_memory(base_url: str, web_pid: int, session: requests.Session) -> dict[str, Any]:
    """A 200 MB upload to the real gunicorn, its workers' memory read meanwhile: the largest rise."""
    from django.conf import settings

    workers = child_pids(web_pid)
    # Each worker loads the URLconf, and with it the clip views' libraries (PyAV), on its first request: small
    # uploads until every worker has, so that the figure is the upload's and not that first load's.
    for _attempt in range(40):
        status, _seconds = post_upload(base_url, session, 1024 * 1024)
        if status != 201:
            raise RuntimeError(f"a 1 MB upload answered {status}")
        if all(_has_loaded_media_libraries(pid) for pid in workers):
            break
    else:
        raise RuntimeError("40 small uploads did not reach every gunicorn worker")
    before = {pid: reading[0] for pid in workers if (reading := _rss_kb(pid))}
    hwm_before = {pid: reading[1] for pid in workers if (reading := _rss_kb(pid))}
    peak = dict(before)
    stop = threading.Event()
    samples = 0

    def sample() -> None:
        nonlocal samples
        while not stop.is_set():
            for pid in workers:
                reading = _rss_kb(pid)
                if reading:
                    peak[pid] = max(peak.get(pid, 0), reading[0])
            samples += 1
            stop.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    file_bytes = settings.CLIP_MAX_BYTES - UPLOAD_MARGIN
    try:
        status, seconds = post_upload(base_url, session, file_bytes)
    finally:
        stop.set()
        sampler.join()
    hwm_after = {pid: reading[1] for pid in workers if (reading := _rss_kb(pid))}
    rise = {pid: (peak[pid] - before[pid]) / 1024 for pid in before}
    result = {
        "status": status,
        "file_bytes": file_bytes,
        "seconds": seconds,
        "mb_per_second": file_bytes / 1e6 / seconds,
        "workers": len(workers),
        "samples": samples,
        "rise_mb": max(rise.values(), default=0.0),
        "worker_mb_before": max(before.values(), default=0) / 1024,
        # The kernel's own high-water mark: a rise between two samples would show here.
        "hwm_rise_mb": max(
            ((hwm_after.get(pid, 0) - hwm_before[pid]) / 1024 for pid in hwm_before), default=0.0
        ),
    }
    log(
        f"200 MB upload: HTTP {status} in {seconds:.1f} s; a worker's memory rose by at most "
        f"{result['rise_mb']:.1f} MB"
    )
    return result
