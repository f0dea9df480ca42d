//! Agents' file uploads from the conversation page:
//! `POST /chat/api/admin/session/{id}/attachments/` through
//! `XMLHttpRequest`, for upload progress and cancel (fetch has neither).
//!
//! Each upload is shown (`Upload`) until the server answers with the stored
//! message, which the page then shows like any other. A transient failure
//! (no answer, `5xx`, `408`, `429`, or `retryable`) keeps the file and sends
//! it again with the same `client_id` after 1, 2 and 4 s; after the fourth
//! try, or on a final refusal, the upload shows failed with the reason (and
//! a retry button when resending can help). An upload whose progress stops
//! for 30 s is aborted and counts as a transient failure: a connection can
//! look alive while nothing moves.

use crate::types::{AttachmentLimits, SessionId};

/// An upload on screen.
#[derive(Clone, Debug, PartialEq)]
pub struct Upload {
    pub client_id: String,
    pub name: String,
    pub size: u64,
    pub state: UploadState,
}

#[derive(Clone, Debug, PartialEq)]
pub enum UploadState {
    /// Sent so far, 0.0 to 1.0.
    Sending(f64),
    Failed {
        reason: String,
        retry: bool,
    },
}

impl UploadState {
    /// For keyed lists: whole percent sent, or `u16::MAX` once failed.
    pub fn key(&self) -> u16 {
        match self {
            UploadState::Sending(done) => (done.clamp(0.0, 1.0) * 100.0) as u16,
            UploadState::Failed { .. } => u16::MAX,
        }
    }
}

/// Tries before an upload shows failed.
pub const TRIES: u32 = 4;
/// No progress for this long aborts a try.
pub const STALL_MS: f64 = 30_000.0;

/// A human size: `512 B`, `12 KB`, `3.4 MB`.
pub fn human_size(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        let tenths = (bytes * 10 + (1 << 19)) >> 20;
        if tenths.is_multiple_of(10) {
            format!("{} MB", tenths / 10)
        } else {
            format!("{}.{} MB", tenths / 10, tenths % 10)
        }
    } else if bytes >= 1024 {
        format!("{} KB", (bytes + 512) / 1024)
    } else {
        format!("{bytes} B")
    }
}

/// The kind a file name says it is (`jpg` → `jpeg`); `Some("")` for
/// markup and scripts, never accepted; `None` when only the bytes can
/// tell (the server decides).
pub fn kind_from_name(name: &str) -> Option<&'static str> {
    let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "png" => "png",
        "jpg" | "jpeg" => "jpeg",
        "gif" => "gif",
        "webp" => "webp",
        "pdf" => "pdf",
        "txt" => "txt",
        "csv" => "csv",
        "docx" => "docx",
        "xlsx" => "xlsx",
        "zip" => "zip",
        "svg" | "svgz" | "html" | "htm" | "xhtml" | "xml" | "js" | "mjs" => "",
        _ => return None,
    })
}

/// Why a file cannot be sent, decided before a byte goes out; `None`: send
/// it (the server checks again).
pub fn refuse_early(limits: &AttachmentLimits, name: &str, size: u64) -> Option<String> {
    if !limits.enabled {
        return Some("Attachments are turned off (ATTACHMENTS_ENABLED).".into());
    }
    match kind_from_name(name) {
        Some("") => return Some(format!("{name}: this type of file cannot be sent.")),
        Some(kind) if !limits.types.iter().any(|t| t == kind) => {
            return Some(format!("{name}: {kind} files are not accepted here."))
        }
        _ => {}
    }
    (size > limits.max_bytes).then(|| {
        format!(
            "{name} is {}; the largest file is {}.",
            human_size(size),
            human_size(limits.max_bytes)
        )
    })
}

/// Whether an HTTP answer (0: none at all) is worth sending again.
pub fn transient(status: u16, retryable: bool) -> bool {
    retryable || status == 0 || status == 408 || status == 429 || status >= 500
}

/// Where an agent uploads to.
pub fn upload_url(session_id: &SessionId) -> String {
    format!("/chat/api/admin/session/{session_id}/attachments/")
}

#[cfg(feature = "hydrate")]
pub use browser::{cancel, retry, send_files};

#[cfg(not(feature = "hydrate"))]
pub fn cancel(_client_id: &str) {}

#[cfg(not(feature = "hydrate"))]
pub fn retry(_client_id: &str) {}

#[cfg(feature = "hydrate")]
mod browser {
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::rc::Rc;

    use leptos::prelude::*;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    use web_sys::{File, FileList, FormData, ProgressEvent, XmlHttpRequest};

    use super::*;
    use crate::live::{new_client_id, now_ms};
    use crate::types::MessageView;

    /// Called with the stored message.
    type Done = Rc<dyn Fn(MessageView)>;

    struct Job {
        session_id: SessionId,
        file: File,
        tries: u32,
        /// Bumped per try: a stale try's events are ignored.
        attempt: u32,
        xhr: Option<XmlHttpRequest>,
        seen: f64,
        uploads: RwSignal<Vec<Upload>>,
        done: Done,
    }

    thread_local! {
        static JOBS: RefCell<HashMap<String, Job>> = RefCell::new(HashMap::new());
    }

    fn set_state(uploads: RwSignal<Vec<Upload>>, client_id: &str, state: UploadState) {
        uploads.update(|l| {
            if let Some(u) = l.iter_mut().find(|u| u.client_id == client_id) {
                u.state = state;
            }
        });
    }

    fn forget(client_id: &str) -> Option<Job> {
        let job = JOBS.with(|j| j.borrow_mut().remove(client_id))?;
        job.uploads
            .update(|l| l.retain(|u| u.client_id != client_id));
        Some(job)
    }

    /// Sends each file (at most 5 at a time) as its own message; one the
    /// limits refuse shows failed at once.
    pub fn send_files(
        session_id: &SessionId,
        files: FileList,
        limits: &AttachmentLimits,
        uploads: RwSignal<Vec<Upload>>,
        done: impl Fn(MessageView) + 'static,
    ) {
        let done: Done = Rc::new(done);
        for i in 0..files.length().min(5) {
            let Some(file) = files.get(i) else { continue };
            let client_id = new_client_id();
            let size = file.size() as u64;
            let early = refuse_early(limits, &file.name(), size);
            uploads.update(|l| {
                l.push(Upload {
                    client_id: client_id.clone(),
                    name: file.name(),
                    size,
                    state: match &early {
                        Some(reason) => UploadState::Failed {
                            reason: reason.clone(),
                            retry: false,
                        },
                        None => UploadState::Sending(0.0),
                    },
                })
            });
            JOBS.with(|j| {
                j.borrow_mut().insert(
                    client_id.clone(),
                    Job {
                        session_id: session_id.clone(),
                        file,
                        tries: 0,
                        attempt: 0,
                        xhr: None,
                        seen: 0.0,
                        uploads,
                        done: done.clone(),
                    },
                )
            });
            if early.is_none() {
                attempt(&client_id);
            }
        }
    }

    /// Stops an upload and takes it off the screen.
    pub fn cancel(client_id: &str) {
        if let Some(job) = forget(client_id) {
            if let Some(x) = job.xhr {
                let _ = x.abort();
            }
        }
    }

    /// The retry button: the same file and `client_id`, tries counted anew.
    pub fn retry(client_id: &str) {
        let uploads = JOBS.with(|j| {
            j.borrow_mut().get_mut(client_id).map(|job| {
                job.tries = 0;
                job.uploads
            })
        });
        if let Some(uploads) = uploads {
            set_state(uploads, client_id, UploadState::Sending(0.0));
            attempt(client_id);
        }
    }

    fn attempt(client_id: &str) {
        let Some((url, form, number)) = JOBS.with(|j| {
            let mut jobs = j.borrow_mut();
            let job = jobs.get_mut(client_id)?;
            job.attempt += 1;
            job.tries += 1;
            job.seen = now_ms();
            let form = FormData::new().ok()?;
            form.append_with_str("client_id", client_id).ok()?;
            form.append_with_blob_and_filename("file", &job.file, &job.file.name())
                .ok()?;
            Some((upload_url(&job.session_id), form, job.attempt))
        }) else {
            return;
        };
        let Ok(xhr) = XmlHttpRequest::new() else {
            return;
        };
        let cid = client_id.to_string();
        let on_progress = Closure::<dyn FnMut(ProgressEvent)>::new({
            let cid = cid.clone();
            move |e: ProgressEvent| {
                let uploads = JOBS.with(|j| {
                    let mut jobs = j.borrow_mut();
                    let job = jobs.get_mut(&cid).filter(|job| job.attempt == number)?;
                    job.seen = now_ms();
                    Some(job.uploads)
                });
                if let (Some(uploads), true) = (uploads, e.length_computable()) {
                    let total = e.total().max(1.0);
                    set_state(uploads, &cid, UploadState::Sending(e.loaded() / total));
                }
            }
        });
        let on_end = Closure::<dyn FnMut(web_sys::Event)>::new({
            let cid = cid.clone();
            let xhr = xhr.clone();
            move |_| finished(&cid, number, &xhr)
        });
        if let Ok(up) = xhr.upload() {
            up.set_onprogress(Some(on_progress.into_js_value().unchecked_ref()));
        }
        xhr.set_onloadend(Some(on_end.into_js_value().unchecked_ref()));
        if xhr.open_with_async("POST", &url, true).is_err()
            || xhr.send_with_opt_form_data(Some(&form)).is_err()
        {
            later(&cid, None);
            return;
        }
        JOBS.with(|j| {
            if let Some(job) = j.borrow_mut().get_mut(&cid) {
                job.xhr = Some(xhr);
            }
        });
        watch(cid, number);
    }

    /// Every 5 s while a try is out: no progress for 30 s aborts it (its
    /// `loadend` then counts as a transient failure).
    fn watch(cid: String, number: u32) {
        set_timeout(
            move || {
                let stalled = JOBS.with(|j| {
                    let jobs = j.borrow();
                    let job = jobs.get(&cid).filter(|job| job.attempt == number)?;
                    Some((now_ms() - job.seen > STALL_MS, job.xhr.clone()))
                });
                match stalled {
                    Some((true, Some(xhr))) => {
                        let _ = xhr.abort();
                    }
                    Some((false, _)) => watch(cid, number),
                    _ => {}
                }
            },
            std::time::Duration::from_secs(5),
        );
    }

    fn finished(cid: &str, number: u32, xhr: &XmlHttpRequest) {
        let current = JOBS.with(|j| j.borrow().get(cid).is_some_and(|job| job.attempt == number));
        if !current {
            return;
        }
        let status = xhr.status().unwrap_or(0);
        let text = xhr.response_text().ok().flatten().unwrap_or_default();
        if status == 201 || status == 200 {
            if let Ok(message) = crate::json::decode::<MessageView>(text.as_bytes()) {
                if let Some(job) = forget(cid) {
                    (job.done)(message);
                }
                return;
            }
        }
        // Read as server functions' answers are (`crate::json`).
        let error = crate::json::decode::<crate::error::ErrorBody>(text.as_bytes())
            .ok()
            .map(|body| body.error);
        let retryable = error.as_ref().is_some_and(|e| e.retryable);
        if transient(status, retryable) {
            later(cid, error.and_then(|e| e.retry_after_ms));
            return;
        }
        let reason = error.map_or_else(
            || format!("The server refused the file (HTTP {status})."),
            |e| e.message,
        );
        if let Some(uploads) = JOBS.with(|j| j.borrow().get(cid).map(|job| job.uploads)) {
            set_state(
                uploads,
                cid,
                UploadState::Failed {
                    reason,
                    retry: status == 401 || status == 403,
                },
            );
        }
    }

    /// A transient failure: again after 1, 2, 4 s (at least
    /// `retry_after_ms`), or failed with a retry button after the last try.
    fn later(cid: &str, retry_after_ms: Option<u64>) {
        let Some((tries, uploads)) =
            JOBS.with(|j| j.borrow().get(cid).map(|job| (job.tries, job.uploads)))
        else {
            return;
        };
        if tries >= TRIES {
            set_state(
                uploads,
                cid,
                UploadState::Failed {
                    reason: "Not sent: the server could not be reached.".into(),
                    retry: true,
                },
            );
            return;
        }
        let wait = (1000u64 << (tries - 1)).max(retry_after_ms.unwrap_or(0));
        let cid = cid.to_string();
        set_timeout(
            move || attempt(&cid),
            std::time::Duration::from_millis(wait),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> AttachmentLimits {
        AttachmentLimits {
            enabled: true,
            max_bytes: 10 << 20,
            types: vec!["png".into(), "pdf".into(), "txt".into()],
        }
    }

    #[test]
    fn sizes_read_like_a_person_wrote_them() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1536), "2 KB");
        assert_eq!(human_size(10 << 20), "10 MB");
        assert_eq!(human_size((3 << 20) + (400 << 10)), "3.4 MB");
    }

    #[test]
    fn files_are_refused_early_only_when_certain() {
        let l = limits();
        assert_eq!(refuse_early(&l, "a.png", 10), None);
        assert_eq!(refuse_early(&l, "notes.md", 10), None, "the server decides");
        assert!(refuse_early(&l, "x.SVG", 10)
            .unwrap()
            .contains("cannot be sent"));
        assert!(refuse_early(&l, "x.zip", 10).unwrap().contains("zip files"));
        assert!(refuse_early(&l, "big.pdf", (10 << 20) + 1)
            .unwrap()
            .contains("largest file is 10 MB"));
        let off = AttachmentLimits {
            enabled: false,
            ..limits()
        };
        assert!(refuse_early(&off, "a.png", 10).is_some());
    }

    #[test]
    fn what_is_worth_sending_again() {
        assert!(transient(0, false));
        assert!(transient(503, false));
        assert!(transient(429, false));
        assert!(transient(408, false));
        assert!(transient(400, true));
        assert!(!transient(413, false));
        assert!(!transient(415, false));
    }
}
