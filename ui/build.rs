//! Installs the packages the pages use from the npm registry, at the versions `package-lock.json`
//! pins, into `OUT_DIR`; `src/lib.rs` embeds the files it serves from there. Needs Node.js and npm
//! (Debian: `apt-get install nodejs npm`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::{env, fs};

fn main() {
    println!("cargo:rerun-if-changed=package.json");
    println!("cargo:rerun-if-changed=package-lock.json");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("npm");
    let lock = fs::read("package-lock.json").expect("ui/package-lock.json is readable");
    // An install of this very lock file is already there.
    if fs::read(out.join("package-lock.json")).is_ok_and(|had| had == lock) && out.join("node_modules").is_dir() {
        return;
    }
    fs::create_dir_all(&out).expect("OUT_DIR is writable");
    for file in ["package.json", "package-lock.json"] {
        fs::copy(file, out.join(file)).expect("the package files copy into OUT_DIR");
    }
    install(&out);
}

fn install(dir: &Path) {
    let status = Command::new("npm")
        .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(dir)
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("`npm ci` for the web front end's packages failed ({s}); is the npm registry reachable?"),
        Err(e) => panic!(
            "the web front end's packages are installed with npm, which could not be started ({e}); \
             install Node.js and npm (Debian: apt-get install nodejs npm)"
        ),
    }
}
