// The clip field of the New clone form (templates/clones/task_form.html): a file, a recording or a link is
// sent for checking at once; the check (templates/clones/clip_check.html) comes back as a fragment that this
// swaps in and polls while the worker measures the clip; a usable clip shows its waveform with the speech
// marked, and a clip with more than 60 s of speech gets a window to choose the part to send.
// Every word shown comes from the page (data- attributes); nothing here builds HTML.
(function () {
  "use strict";

  var MIN_SPEECH = 15; // the service takes 15 to 60 s of speech (clones/models.py MIN/MAX_SPEECH_SECONDS)
  var MAX_SPEECH = 60;
  // Aim a little inside the limits, so that rounding the window to hundredths never leaves them.
  var MIN_TARGET = MIN_SPEECH + 0.05;
  var MAX_TARGET = MAX_SPEECH - 0.05;
  var RECORD_LIMIT = 60; // seconds: the recorder stops by itself
  var POLL_MS = 1000;
  var LINK_DELAY_MS = 600;
  var PAD = 0.25; // seconds of silence kept around the speech in the default window

  function formatTime(seconds) {
    var whole = Math.max(0, Math.floor(seconds + 0.0001));
    var minutes = Math.floor(whole / 60);
    var rest = whole % 60;
    return minutes + ":" + (rest < 10 ? "0" : "") + rest;
  }

  function fill(template, values) {
    return Object.keys(values).reduce(function (text, key) {
      return text.split("{" + key + "}").join(values[key]);
    }, template || "");
  }

  // --- speech arithmetic over [[start, end], …] segments (sorted, merged by the server) ---------------------

  function speechBetween(segments, from, to) {
    return segments.reduce(function (total, segment) {
      return total + Math.max(0, Math.min(segment[1], to) - Math.max(segment[0], from));
    }, 0);
  }

  // The time at which `amount` seconds of speech have been heard, counting from `from` (or the end).
  function timeAfterSpeech(segments, from, amount, duration) {
    var left = amount;
    for (var i = 0; i < segments.length; i++) {
      var start = Math.max(segments[i][0], from);
      var end = segments[i][1];
      if (end <= start) continue;
      if (end - start >= left) return start + left;
      left -= end - start;
    }
    return duration;
  }

  // The time from which `amount` seconds of speech lead up to `to` (or 0).
  function timeBeforeSpeech(segments, to, amount) {
    var left = amount;
    for (var i = segments.length - 1; i >= 0; i--) {
      var end = Math.min(segments[i][1], to);
      var start = segments[i][0];
      if (end <= start) continue;
      if (end - start >= left) return end - left;
      left -= end - start;
    }
    return 0;
  }

  // The first 60 s of speech, ending after a whole segment where one fits, with a little silence around it.
  function defaultWindow(segments, duration) {
    var first = segments.length ? segments[0][0] : 0;
    var start = Math.max(0, first - PAD);
    var end = start;
    var heard = 0;
    for (var i = 0; i < segments.length; i++) {
      var length = segments[i][1] - segments[i][0];
      if (heard + length > MAX_TARGET) break;
      heard += length;
      var next = i + 1 < segments.length ? segments[i + 1][0] : duration;
      end = Math.min(segments[i][1] + PAD, next, duration);
    }
    if (heard < MIN_TARGET) end = timeAfterSpeech(segments, start, MAX_TARGET, duration);
    return { start: start, end: end };
  }

  // Keeps 15 to 60 s of speech inside, moving the side that was not just set (`kept`: "start" or "end").
  function limitWindow(segments, duration, start, end, kept) {
    start = Math.max(0, Math.min(start, duration));
    end = Math.max(start, Math.min(end, duration));
    var speech = speechBetween(segments, start, end);
    if (speech > MAX_TARGET) {
      if (kept === "end") start = timeBeforeSpeech(segments, end, MAX_TARGET);
      else end = timeAfterSpeech(segments, start, MAX_TARGET, duration);
    } else if (speech < MIN_TARGET) {
      if (kept === "end") start = timeBeforeSpeech(segments, end, MIN_TARGET);
      else end = timeAfterSpeech(segments, start, MIN_TARGET, duration);
      if (speechBetween(segments, start, end) < MIN_TARGET) {
        // Not enough speech on that side: grow the other way.
        if (kept === "end") end = timeAfterSpeech(segments, start, MIN_TARGET, duration);
        else start = timeBeforeSpeech(segments, end, MIN_TARGET);
      }
    }
    // Hundredths: the start rounded up and the end down, so rounding only ever takes speech away.
    return { start: Math.ceil(start * 100) / 100, end: Math.floor(end * 100) / 100 };
  }

  function csrfToken(form) {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) return input.value;
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function init() {
    var field = document.getElementById("clip-field");
    if (!field) return;
    var form = field.closest("form");
    var check = document.getElementById("clip-check");
    var clipInput = form.querySelector("input[name=clip]");
    var startInput = form.querySelector("input[name=clip_start]");
    var endInput = form.querySelector("input[name=clip_end]");
    var sources = document.getElementById("clip-sources");
    var sourceInputs = form.querySelectorAll("input[name=clip_source]");
    var panels = field.querySelectorAll("[data-panel]");
    var linkInput = form.querySelector("input[name=file_url]");
    var unchecked = document.getElementById("send-unchecked");
    var uncheckedInput = form.querySelector("input[name=send_unchecked]");
    // The link that was to be sent unchecked (ticked by the person, or by the Fix form of a link sent so): a new
    // check of that same link that still cannot reach it keeps the tick; another link needs its own.
    var uncheckedLink = uncheckedInput.checked ? linkInput.value.trim() : "";
    uncheckedInput.addEventListener("change", function () {
      uncheckedLink = uncheckedInput.checked ? linkInput.value.trim() : "";
    });
    var lastFragment = {}; // per source: the last check answered, shown again when the person comes back to it
    var pollTimer = null;
    var pollRequest = null;

    // --- the source --------------------------------------------------------------------------------------

    function currentSource() {
      var checked = form.querySelector("input[name=clip_source]:checked");
      return checked ? checked.value : "link";
    }

    function showSource(source) {
      Array.prototype.forEach.call(panels, function (panel) {
        panel.hidden = panel.dataset.panel !== source;
      });
    }

    // Without JavaScript only the link works: the choice stays hidden and disabled (so it is not sent).
    sources.hidden = false;
    sources.disabled = false;
    Array.prototype.forEach.call(sourceInputs, function (input) {
      input.addEventListener("change", function () {
        var source = currentSource();
        showSource(source);
        if (lastFragment[source]) showFragment(lastFragment[source], source);
        else clearCheck();
      });
    });
    showSource(currentSource());

    // --- the check -----------------------------------------------------------------------------------------

    function clearCheck() {
      stopPolling();
      Array.prototype.slice.call(check.attributes).forEach(function (attribute) {
        if (attribute.name.indexOf("data-") === 0) check.removeAttribute(attribute.name);
      });
      check.setAttribute("data-state", "empty");
      check.replaceChildren();
      checkChanged();
    }

    // Puts an answered fragment in place of the check's content, keeping the element itself, so that its
    // aria-live region stays the same one and screen readers announce the new text.
    function showFragment(html, source) {
      var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("clip-check");
      if (!fresh) return false;
      lastFragment[source || currentSource()] = html;
      Array.prototype.slice.call(check.attributes).forEach(function (attribute) {
        if (attribute.name.indexOf("data-") === 0) check.removeAttribute(attribute.name);
      });
      Array.prototype.forEach.call(fresh.attributes, function (attribute) {
        if (attribute.name.indexOf("data-") === 0) check.setAttribute(attribute.name, attribute.value);
      });
      check.replaceChildren.apply(
        check,
        Array.prototype.map.call(fresh.childNodes, function (node) {
          return document.importNode(node, true);
        })
      );
      checkChanged();
      return true;
    }

    function showProblem(text) {
      clearCheck();
      var paragraph = document.createElement("p");
      paragraph.className = "clip-problem";
      paragraph.textContent = text;
      check.setAttribute("data-state", "refused");
      check.replaceChildren(paragraph);
    }

    function stopPolling() {
      if (pollTimer) window.clearTimeout(pollTimer);
      pollTimer = null;
      if (pollRequest) pollRequest.abort();
      pollRequest = null;
    }

    function poll() {
      var url = check.dataset.checkUrl;
      var source = currentSource();
      if (!url) return;
      var request = new XMLHttpRequest();
      pollRequest = request;
      request.open("GET", url);
      request.setRequestHeader("Accept", "text/html");
      request.onload = function () {
        pollRequest = null;
        if (currentSource() !== source || check.dataset.checkUrl !== url) return;
        if (request.status === 200 && showFragment(request.responseText, source)) return;
        schedulePoll(); // a passing failure: ask again
      };
      request.onerror = function () {
        pollRequest = null;
        schedulePoll();
      };
      request.send();
    }

    function schedulePoll() {
      if (pollTimer) window.clearTimeout(pollTimer);
      // Slower in a hidden tab: the answer waits for the person anyway.
      // Every second, or as often as the list refreshes its rows if the studio is set to refresh faster.
      var every = Math.min(POLL_MS, Number(field.dataset.checkEveryMs) || POLL_MS);
      pollTimer = window.setTimeout(poll, document.hidden ? every * 5 : every);
    }

    function checkChanged() {
      var state = check.dataset.state;
      clipInput.value = check.dataset.clipToken || "";
      stopPolling();
      if (state === "checking") schedulePoll();
      var canSendUnchecked = currentSource() === "link" && state === "unreachable";
      unchecked.hidden = !canSendUnchecked;
      if (!canSendUnchecked) uncheckedInput.checked = false;
      else if (uncheckedLink && uncheckedLink === linkInput.value.trim()) uncheckedInput.checked = true;
      if (state === "usable") drawWave();
      else removeWave();
    }

    function checkUrlFor(token) {
      return field.dataset.checkUrlTemplate.replace("00000000-0000-0000-0000-000000000000", token);
    }

    // --- uploading a file or a recording ---------------------------------------------------------------------

    var upload = null;
    var uploadBox = document.getElementById("clip-upload");
    var uploadLabel = document.getElementById("clip-upload-label");
    var progress = document.getElementById("clip-progress");

    function uploadClip(blob, name, source) {
      if (upload) upload.abort();
      clearCheck();
      lastFragment[source] = null;
      if (blob.size > Number(field.dataset.maxBytes)) {
        showProblem(field.dataset.tooLarge);
        return;
      }
      var data = new FormData();
      data.append("file", blob, name);
      data.append("source", source);
      var request = new XMLHttpRequest();
      upload = request;
      var label = function (percent) {
        uploadLabel.textContent = fill(field.dataset.uploading, { name: name, percent: percent + "%" });
        progress.value = percent;
      };
      var box = uploadBox;
      box.hidden = false;
      label(0);
      request.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable) label(Math.floor((event.loaded / event.total) * 100));
      });
      request.open("POST", field.dataset.uploadUrl);
      request.setRequestHeader("X-CSRFToken", csrfToken(form));
      request.setRequestHeader("Accept", "text/html");
      request.onload = function () {
        upload = null;
        box.hidden = true;
        if (currentSource() !== source) return;
        if (!showFragment(request.responseText, source)) showProblem(field.dataset.uploadFailed);
      };
      request.onerror = function () {
        upload = null;
        box.hidden = true;
        if (currentSource() === source) showProblem(field.dataset.uploadFailed);
      };
      request.onabort = function () {
        box.hidden = true;
      };
      request.send(data);
    }

    var fileInput = document.getElementById("clip-file");
    var dropZone = document.getElementById("clip-drop");
    fileInput.addEventListener("change", function () {
      if (fileInput.files.length) uploadClip(fileInput.files[0], fileInput.files[0].name, "file");
    });
    ["dragenter", "dragover"].forEach(function (type) {
      dropZone.addEventListener(type, function (event) {
        event.preventDefault();
        dropZone.classList.add("is-over");
      });
    });
    ["dragleave", "drop"].forEach(function (type) {
      dropZone.addEventListener(type, function () {
        dropZone.classList.remove("is-over");
      });
    });
    dropZone.addEventListener("drop", function (event) {
      event.preventDefault();
      var file = event.dataTransfer && event.dataTransfer.files[0];
      if (file) uploadClip(file, file.name, "file");
    });

    // --- a link ----------------------------------------------------------------------------------------------

    var linkTimer = null;
    var linkSent = "";
    var linkRequest = null;

    function looksLikeLink(value) {
      return /^https?:\/\/[^\s/]+\.[^\s]+$/i.test(value) || /^https?:\/\/[^\s/]+:\d+\/\S*$/i.test(value);
    }

    function sendLink() {
      var value = linkInput.value.trim();
      if (value === linkSent) return;
      if (!looksLikeLink(value)) {
        linkSent = "";
        if (linkRequest) linkRequest.abort();
        lastFragment.link = null;
        if (currentSource() === "link") clearCheck();
        return;
      }
      linkSent = value;
      if (linkRequest) linkRequest.abort();
      var request = new XMLHttpRequest();
      linkRequest = request;
      request.open("POST", field.dataset.linkUrl);
      request.setRequestHeader("X-CSRFToken", csrfToken(form));
      request.setRequestHeader("Content-Type", "application/x-www-form-urlencoded");
      request.setRequestHeader("Accept", "text/html");
      request.onload = function () {
        linkRequest = null;
        if (linkInput.value.trim() !== value) return;
        if (currentSource() !== "link") {
          lastFragment.link = request.responseText;
          return;
        }
        if (!showFragment(request.responseText, "link")) showProblem(field.dataset.linkFailed);
      };
      request.onerror = function () {
        linkRequest = null;
        linkSent = "";
        if (currentSource() === "link") showProblem(field.dataset.linkFailed);
      };
      request.send("file_url=" + encodeURIComponent(value));
    }

    linkInput.addEventListener("input", function () {
      window.clearTimeout(linkTimer);
      linkTimer = window.setTimeout(sendLink, LINK_DELAY_MS);
    });
    linkInput.addEventListener("change", function () {
      window.clearTimeout(linkTimer);
      sendLink();
    });

    // --- the waveform, the player and the window -----------------------------------------------------------

    var wave = document.getElementById("clip-wave");
    var waveBox = document.getElementById("clip-waveform");
    var audio = document.getElementById("clip-audio");
    var playButton = document.getElementById("clip-play");
    var timeLabel = document.getElementById("clip-time");
    var windowBox = document.getElementById("clip-window");
    var selected = document.getElementById("clip-selected");
    var fromInput = document.getElementById("clip-from");
    var toInput = document.getElementById("clip-to");
    var legendWindow = [document.getElementById("clip-legend-window"), document.getElementById("clip-legend-window-text")];
    var surfer = null;
    var windowRegion = null;
    var segments = [];
    var duration = 0;
    var drawnToken = "";

    function removeWave() {
      audio.pause();
      if (surfer) surfer.destroy();
      surfer = null;
      windowRegion = null;
      drawnToken = "";
      audio.removeAttribute("src");
      wave.hidden = true;
      windowBox.hidden = true;
      startInput.value = "";
      endInput.value = "";
    }

    function setWindow(start, end, kept, fromRegion) {
      var limited = limitWindow(segments, duration, start, end, kept);
      startInput.value = limited.start.toFixed(2);
      endInput.value = limited.end.toFixed(2);
      if (document.activeElement !== fromInput) fromInput.value = limited.start.toFixed(1);
      if (document.activeElement !== toInput) toInput.value = limited.end.toFixed(1);
      fromInput.max = toInput.max = duration.toFixed(2);
      var speech = speechBetween(segments, limited.start, limited.end);
      var short = speech < MIN_SPEECH;
      selected.classList.toggle("is-short", short);
      selected.textContent = fill(short ? selected.dataset.tooLittle : selected.dataset.template, {
        from: formatTime(limited.start),
        to: formatTime(limited.end),
        speech: Math.round(speech),
      });
      if (windowRegion && (!fromRegion || limited.start !== start || limited.end !== end)) {
        windowRegion.setOptions({ start: limited.start, end: limited.end });
      }
    }

    function drawWave() {
      var token = check.dataset.clipToken;
      if (drawnToken === token) return;
      removeWave();
      drawnToken = token;
      duration = Number(check.dataset.seconds) || 0;
      segments = JSON.parse(check.dataset.speech || "[]");
      var peaks = JSON.parse(check.dataset.peaks || "[]");
      var needsWindow = check.dataset.needsWindow === "true";
      wave.hidden = false;
      windowBox.hidden = !needsWindow;
      legendWindow.forEach(function (element) {
        element.hidden = !needsWindow;
      });
      playButton.textContent = playButton.dataset.play;
      timeLabel.textContent = "0:00 / " + formatTime(duration);
      // Only the header is fetched before a click: wavesurfer places regions by the element's duration.
      audio.preload = "metadata";
      audio.src = check.dataset.audioUrl;
      if (!window.WaveSurfer || !peaks.length) return; // the player still works without the picture
      var regions = window.WaveSurfer.Regions.create();
      // The peaks and length come with the check: wavesurfer draws them and never downloads or decodes the
      // sound itself; the <audio> element plays it (and fetches it only when played).
      surfer = window.WaveSurfer.create({
        container: waveBox,
        media: audio,
        peaks: [peaks],
        duration: duration,
        height: 80,
        waveColor: "#8a93a5",
        progressColor: "#2d3a8c",
        cursorColor: "#1d2330",
        barWidth: 2,
        barGap: 1,
        barRadius: 1,
        normalize: true,
        cspNonce: field.dataset.styleNonce,
        plugins: [regions],
      });
      var drawn = surfer;
      if (audio.readyState >= 1) addRegions(regions, token, needsWindow);
      else {
        audio.addEventListener(
          "loadedmetadata",
          function () {
            if (surfer === drawn) addRegions(regions, token, needsWindow);
          },
          { once: true }
        );
      }
    }

    function addRegions(regions, token, needsWindow) {
      segments.forEach(function (segment) {
        regions.addRegion({
          start: segment[0],
          end: segment[1],
          color: "rgba(27, 107, 58, 0.18)",
          drag: false,
          resize: false,
        });
      });
      if (!needsWindow) return;
      var chosen = defaultWindow(segments, duration);
      var kept = Number(startInput.dataset.restore || NaN);
      if (!isNaN(kept) && startInput.dataset.restoreToken === token) {
        // The form came back (another field was wrong): keep the window the person had chosen.
        chosen = { start: kept, end: Number(endInput.dataset.restore) };
      }
      windowRegion = regions.addRegion({
        id: "window",
        start: chosen.start,
        end: chosen.end,
        color: "rgba(45, 58, 140, 0.22)",
        drag: true,
        resize: true,
      });
      setWindow(chosen.start, chosen.end, "start", false);
      regions.on("region-update", function (region, side) {
        if (region !== windowRegion) return;
        setWindow(region.start, region.end, side === "start" ? "end" : "start", true);
      });
      regions.on("region-updated", function (region, side) {
        if (region !== windowRegion) return;
        setWindow(region.start, region.end, side === "start" ? "end" : "start", false);
      });
    }

    playButton.addEventListener("click", function () {
      if (!surfer) {
        if (audio.paused) audio.play();
        else audio.pause();
        return;
      }
      if (!surfer.isPlaying() && windowRegion) {
        var now = surfer.getCurrentTime();
        if (now < windowRegion.start || now >= windowRegion.end) surfer.setTime(windowRegion.start);
      }
      surfer.playPause();
    });
    audio.addEventListener("timeupdate", function () {
      timeLabel.textContent = formatTime(audio.currentTime) + " / " + formatTime(duration);
    });
    audio.addEventListener("play", function () {
      playButton.textContent = playButton.dataset.pause;
    });
    audio.addEventListener("pause", function () {
      playButton.textContent = playButton.dataset.play;
    });

    function windowFromInputs(kept) {
      var start = parseFloat(fromInput.value);
      var end = parseFloat(toInput.value);
      if (isNaN(start) || isNaN(end)) return;
      setWindow(start, end, kept, false);
    }
    fromInput.addEventListener("change", function () {
      windowFromInputs("start");
      fromInput.value = Number(startInput.value).toFixed(1);
    });
    toInput.addEventListener("change", function () {
      windowFromInputs("end");
      toInput.value = Number(endInput.value).toFixed(1);
    });

    // --- recording -------------------------------------------------------------------------------------------

    var recordPanel = field.querySelector("[data-panel=recording]");
    var readingText = document.getElementById("reading-text");
    var readingNote = document.getElementById("reading-note");
    var languageSelect = form.querySelector("select[name=language]");
    // The texts to read aloud (every language) are fetched once, when "Record" is first chosen: the form's
    // first load stays light for the many who upload a file or paste a link.
    var texts = {};
    var textsRequested = false;
    function loadReadingTexts() {
      if (textsRequested) return;
      textsRequested = true;
      fetch(recordPanel.dataset.textsUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) throw new Error("reading texts: HTTP " + response.status);
          return response.json();
        })
        .then(function (data) {
          texts = data;
          showReadingText();
        })
        .catch(function () {
          textsRequested = false; // try again when "Record" is chosen again
        });
    }
    var startButton = document.getElementById("record-start");
    var stopButton = document.getElementById("record-stop");
    var timer = document.getElementById("record-timer");
    var meter = document.getElementById("record-level");
    var recorded = document.getElementById("recorded");
    var player = document.getElementById("record-player");
    var againButton = document.getElementById("record-again");
    var useButton = document.getElementById("record-use");
    var recordMessage = document.getElementById("record-message");
    var recording = null; // {recorder, stream, context, started, ticker, frame}
    var recordedBlob = null;
    var recordedUrl = "";

    function showReadingText() {
      var language = languageSelect ? languageSelect.value : "";
      var own = texts[language];
      var item = own || texts.English;
      if (!item) return;
      readingText.textContent = item.text;
      readingText.lang = item.lang;
      if (own) {
        readingNote.textContent = "";
      } else if (!language) {
        readingNote.textContent = recordPanel.dataset.noLanguage;
      } else {
        var option = languageSelect.options[languageSelect.selectedIndex];
        readingNote.textContent = fill(recordPanel.dataset.ownTextMissing, { language: option.textContent.trim() });
      }
    }
    if (languageSelect) languageSelect.addEventListener("change", showReadingText);
    function recordingChosen() {
      if (currentSource() === "recording") loadReadingTexts();
    }
    Array.prototype.forEach.call(sourceInputs, function (input) {
      input.addEventListener("change", recordingChosen);
    });
    recordingChosen();

    var canRecord = Boolean(
      navigator.mediaDevices && navigator.mediaDevices.getUserMedia && window.MediaRecorder && window.AudioContext
    );
    if (startButton.hasAttribute("data-cannot-host")) {
      canRecord = false; // the panel says why (no storage for clips is configured)
    } else if (!canRecord) {
      startButton.disabled = true;
      recordMessage.textContent = recordPanel.dataset.noRecorder;
    }

    function recordingType() {
      var types = ["audio/webm;codecs=opus", "audio/webm", "audio/ogg;codecs=opus", "audio/mp4"];
      for (var i = 0; i < types.length; i++) {
        if (window.MediaRecorder.isTypeSupported(types[i])) return types[i];
      }
      return "";
    }

    function recordingName(type) {
      if (type.indexOf("ogg") !== -1) return "recording.ogg";
      if (type.indexOf("mp4") !== -1) return "recording.m4a";
      return "recording.webm";
    }

    function showTimer(seconds) {
      timer.textContent = formatTime(Math.min(seconds, RECORD_LIMIT)) + " / " + formatTime(RECORD_LIMIT);
    }

    function stopRecording() {
      if (!recording) return;
      var current = recording;
      recording = null;
      window.clearInterval(current.ticker);
      window.cancelAnimationFrame(current.frame);
      if (current.recorder.state !== "inactive") current.recorder.stop();
      current.stream.getTracks().forEach(function (track) {
        track.stop();
      });
      current.context.close();
      meter.value = 0;
      stopButton.hidden = true;
      startButton.hidden = false;
    }

    function startRecording() {
      recordMessage.textContent = "";
      recorded.hidden = true;
      if (recordedUrl) URL.revokeObjectURL(recordedUrl);
      recordedUrl = "";
      recordedBlob = null;
      startButton.disabled = true;
      navigator.mediaDevices.getUserMedia({ audio: true }).then(
        function (stream) {
          startButton.disabled = false;
          var type = recordingType();
          var recorder = new MediaRecorder(stream, type ? { mimeType: type } : undefined);
          var chunks = [];
          var context = new AudioContext();
          context.resume(); // it may start suspended when the permission prompt outlasted the click
          var analyser = context.createAnalyser();
          analyser.fftSize = 1024;
          context.createMediaStreamSource(stream).connect(analyser);
          var samples = new Float32Array(analyser.fftSize);
          var current = { recorder: recorder, stream: stream, context: context, started: Date.now() };
          recording = current;
          recorder.addEventListener("dataavailable", function (event) {
            if (event.data && event.data.size) chunks.push(event.data);
          });
          recorder.addEventListener("stop", function () {
            recordedBlob = new Blob(chunks, { type: recorder.mimeType || type || "audio/webm" });
            recordedUrl = URL.createObjectURL(recordedBlob);
            player.src = recordedUrl;
            recorded.hidden = false;
            useButton.focus();
          });
          var level = function () {
            analyser.getFloatTimeDomainData(samples);
            var sum = 0;
            for (var i = 0; i < samples.length; i++) sum += samples[i] * samples[i];
            // RMS of speech near the microphone is about 0.05 to 0.3: stretched so that it fills the meter.
            meter.value = Math.min(1, Math.sqrt(sum / samples.length) * 3);
            current.frame = window.requestAnimationFrame(level);
          };
          current.frame = window.requestAnimationFrame(level);
          current.ticker = window.setInterval(function () {
            var seconds = (Date.now() - current.started) / 1000;
            showTimer(seconds);
            if (seconds >= RECORD_LIMIT) stopRecording();
          }, 200);
          showTimer(0);
          recorder.start(1000);
          startButton.hidden = true;
          stopButton.hidden = false;
          stopButton.focus();
        },
        function (error) {
          startButton.disabled = false;
          var missing = error && (error.name === "NotFoundError" || error.name === "OverconstrainedError");
          recordMessage.textContent = missing ? recordPanel.dataset.micMissing : recordPanel.dataset.micDenied;
        }
      );
    }

    startButton.addEventListener("click", startRecording);
    stopButton.addEventListener("click", stopRecording);
    againButton.addEventListener("click", startRecording);
    useButton.addEventListener("click", function () {
      if (!recordedBlob) return;
      uploadClip(recordedBlob, recordingName(recordedBlob.type), "recording");
    });

    // --- a form that came back -------------------------------------------------------------------------------

    // Refused for another field, the form comes back with the clip's token and window: show that clip again
    // (from the page when it carries the check, else asked for once).
    var restoredToken = clipInput.value;
    if (startInput.value && endInput.value) {
      startInput.dataset.restore = startInput.value;
      endInput.dataset.restore = endInput.value;
      startInput.dataset.restoreToken = restoredToken;
    }
    checkChanged();
    if (restoredToken && check.dataset.state === "empty") {
      clipInput.value = restoredToken;
      check.dataset.checkUrl = checkUrlFor(restoredToken);
      poll();
    } else if (currentSource() === "link" && linkInput.value && !restoredToken) {
      sendLink();
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
