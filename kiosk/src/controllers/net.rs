//! Talking to the core off the interface's thread: a request runs on a thread of its own with a
//! small runtime, and its answer comes back to the interface's thread.

use std::future::Future;

/// An HTTP client that gives up after 10 s.
pub fn client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build()
}

/// Runs `ask` on a thread of its own, then `then` with its answer on the interface's thread. When
/// no runtime can be made (the machine out of threads), `then` is not called and the error is
/// logged.
pub fn on_thread<T, F, Fut, G>(ask: F, then: G)
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T>,
    G: FnOnce(T) + Send + 'static,
{
    std::thread::spawn(move || {
        let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(rt) => rt,
            Err(e) => {
                eprintln!("cannot start a runtime to reach the core: {e}");
                return;
            }
        };
        let answer = rt.block_on(ask());
        if let Err(e) = slint::invoke_from_event_loop(move || then(answer)) {
            eprintln!("the answer came after the window closed: {e}");
        }
    });
}
