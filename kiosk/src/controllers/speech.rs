//! Reading the page aloud: the page's main text (`Speech.text`, set by each page) spoken by
//! espeak-ng in the kiosk's language. A new reading stops the one before.

use std::cell::RefCell;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;

use slint::ComponentHandle;

use crate::{AppAdapter, MainWindow, Speech};

/// The espeak-ng voice for a language of the kiosk.
pub fn voice(language: &str) -> &'static str {
    if language == "vi" { "vi" } else { "en" }
}

/// The command that speaks `text` in `language` (or writes it to `wav` when given).
pub fn command(text: &str, language: &str, wav: Option<&std::path::Path>) -> Command {
    let mut c = Command::new("espeak-ng");
    // A little slower than espeak-ng's 175 words a minute, for people who hear less well.
    c.args(["-v", voice(language), "-s", "150"]);
    if let Some(wav) = wav {
        c.arg("-w").arg(wav);
    }
    // The text comes last, after `--`, so that nothing in it is taken for an option.
    c.arg("--").arg(text);
    c.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    c
}

pub fn setup(window: &MainWindow) {
    let speaking: Rc<RefCell<Option<Child>>> = Rc::default();
    let w = window.as_weak();
    window.global::<Speech>().on_say(move |text| {
        let Some(w) = w.upgrade() else { return };
        if let Some(mut before) = speaking.borrow_mut().take() {
            let _ = before.kill();
            let _ = before.wait();
        }
        let language = w.global::<AppAdapter>().get_language();
        match command(&text, &language, None).spawn() {
            Ok(child) => *speaking.borrow_mut() = Some(child),
            Err(e) => eprintln!("cannot read aloud (espeak-ng): {e}"),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// espeak-ng (installed by deploy/lib/kiosk.sh) speaks both languages into a WAV file.
    #[test]
    fn both_languages_are_spoken() {
        let dir = tempfile_dir();
        for (lang, text) in [("vi", "Chạm để bắt đầu. Bệnh viện Nhân dân 115."), ("en", "Touch to start.")]
        {
            let wav = dir.join(format!("{lang}.wav"));
            let status = command(text, lang, Some(&wav)).status().expect("espeak-ng is installed");
            assert!(status.success());
            let bytes = std::fs::read(&wav).unwrap();
            assert_eq!(&bytes[..4], b"RIFF");
            // espeak-ng writes 22 050 samples a second of 16 bits: more than half a second of speech.
            assert!(bytes.len() > 22_050, "{lang}: {} bytes", bytes.len());
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("q10-kiosk-speech-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
