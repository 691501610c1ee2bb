//! The Debian packages of `make deb` (`scripts/deb.sh`), built from the debug build: installed
//! with `dpkg -i`, used (`jpki-sign --version`, `openssl list -providers -provider jpki`, the
//! config file, man page and completions), removed with `dpkg -r` (only the conffiles stay) and
//! purged (nothing of them is left).
//!
//! This changes the machine it runs on (CI runs as root), so a guard purges the packages
//! whatever happens, and the test refuses to run — saying so — where it would overwrite or
//! later remove a jpki installed another way (`make install`) or already installed packages.

use jpki_tests::{bin_dir, ok, stdout, Scratch};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

const PACKAGES: [&str; 3] = ["jpki-sign", "openssl-provider-jpki", "jpki-pkcs11"];
const CONFFILES: [&str; 2] = ["/etc/jpki/jpki.cnf", "/etc/jpki/jpki-tls12.cnf"];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn modulesdir() -> PathBuf {
    let o = Command::new("openssl").args(["version", "-m"]).output();
    let text = stdout(&o.expect("openssl version -m"));
    let dir = text
        .split('"')
        .nth(1)
        .expect("MODULESDIR in `openssl version -m`");
    PathBuf::from(dir)
}

/// dpkg's status of a package (`install ok installed`, `deinstall ok config-files`, or empty).
fn status(pkg: &str) -> String {
    let o = Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", pkg])
        .output()
        .expect("dpkg-query");
    stdout(&o).trim().to_string()
}

/// Whether a dpkg status says something of the package is on the machine (files or conffiles).
fn present(status: &str) -> bool {
    !status.is_empty() && !status.contains("not-installed")
}

/// Runs dpkg, waiting while another process (an apt-get elsewhere on the machine) holds its lock.
fn dpkg(args: &[&str]) -> Output {
    for _ in 0..120 {
        let o = Command::new("dpkg").args(args).output().expect("dpkg");
        let err = String::from_utf8_lossy(&o.stderr);
        if o.status.success() || !err.contains("lock") {
            return o;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    panic!("dpkg {args:?}: the dpkg lock stayed taken for 2 minutes");
}

/// Purges whatever of the packages is installed when dropped: the machine is left as found,
/// also when an assertion failed half-way.
struct Purge;

impl Drop for Purge {
    fn drop(&mut self) {
        for p in PACKAGES {
            if present(&status(p)) {
                let o = dpkg(&["--purge", p]);
                if !o.status.success() {
                    eprintln!(
                        "deb: could not purge {p}: {}",
                        String::from_utf8_lossy(&o.stderr)
                    );
                }
            }
        }
    }
}

/// Why the test must not touch this machine, if it must not.
fn refusal() -> Option<String> {
    let uid = Command::new("id").arg("-u").output().expect("id -u");
    if stdout(&uid).trim() != "0" {
        return Some("dpkg -i needs root (CI runs as root)".into());
    }
    for p in PACKAGES {
        let s = status(p);
        if present(&s) {
            return Some(format!(
                "the package {p} is already on this machine ({s}); the test would remove it"
            ));
        }
    }
    let ours = [
        modulesdir().join("jpki.so"),
        PathBuf::from("/usr/bin/jpki-sign"),
        PathBuf::from("/usr/share/p11-kit/modules/jpki.module"),
        PathBuf::from(CONFFILES[0]),
        PathBuf::from(CONFFILES[1]),
    ];
    ours.iter().find(|p| p.exists()).map(|p| {
        format!(
            "{} exists (an earlier `make install`?); installing the packages would overwrite it \
             and removing them would delete it",
            p.display()
        )
    })
}

/// Paths in a .deb (`dpkg-deb -c`), without the leading `.` and trailing `/`.
fn contents(deb: &Path) -> Vec<String> {
    let o = Command::new("dpkg-deb")
        .arg("-c")
        .arg(deb)
        .output()
        .expect("dpkg-deb");
    ok(&o);
    stdout(&o)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .map(|p| p.trim_start_matches('.').trim_end_matches('/').to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// `dpkg -L` of an installed package: the paths it installed.
fn listed(pkg: &str) -> Vec<String> {
    let o = dpkg(&["-L", pkg]);
    ok(&o);
    // The first line is "/." (the root), which every package "contains".
    stdout(&o)
        .lines()
        .filter(|l| l.starts_with('/') && *l != "/.")
        .map(str::to_string)
        .collect()
}

fn build_debs(scratch: &Scratch) -> Vec<PathBuf> {
    let out = scratch.path("debs");
    let o = Command::new(workspace().join("scripts/deb.sh"))
        .env("PROFILE", "dev")
        .env("JPKI_DEB_NO_BUILD", "1")
        .env("JPKI_DEB_OUT", &out)
        .output()
        .expect("scripts/deb.sh");
    ok(&o);
    assert_eq!(
        bin_dir().join("jpki-sign"),
        workspace().join("target/debug/jpki-sign"),
        "deb.sh packages target/debug; the tests must run from there"
    );
    let debs: Vec<PathBuf> = stdout(&o).lines().map(PathBuf::from).collect();
    assert!(debs.iter().all(|d| d.is_file()), "deb.sh output: {debs:?}");
    debs
}

#[test]
fn packages_install_work_and_remove_cleanly() {
    if let Some(why) = refusal() {
        // On CI (a fresh machine, as root) the test must run: a refusal there is a failure.
        assert!(
            std::env::var_os("CI").is_none(),
            "deb: cannot run on this CI machine — {why}"
        );
        eprintln!("deb: NOT RUN — {why}. Nothing was changed.");
        return;
    }
    let scratch = Scratch::new();
    let debs = build_debs(&scratch);
    let names: Vec<&str> = PACKAGES.to_vec();
    for n in &names {
        assert!(
            debs.iter().any(|d| d
                .file_name()
                .is_some_and(|f| f.to_string_lossy().starts_with(&format!("{n}_")))),
            "no {n} package in {debs:?}"
        );
    }
    let mut existed = BTreeSet::new();
    for d in &debs {
        existed.extend(contents(d).into_iter().filter(|p| Path::new(p).exists()));
    }

    let _guard = Purge;
    let mut args = vec!["-i"];
    args.extend(debs.iter().map(|d| d.to_str().expect("utf-8 path")));
    ok(&dpkg(&args));
    let installed: Vec<&str> = PACKAGES
        .into_iter()
        .filter(|p| status(p) == "install ok installed")
        .collect();
    assert_eq!(installed.len(), debs.len(), "installed: {installed:?}");
    let files: BTreeSet<String> = installed.iter().flat_map(|p| listed(p)).collect();

    // What a user of the packages runs.
    let v = Command::new("/usr/bin/jpki-sign")
        .arg("--version")
        .output()
        .expect("jpki-sign");
    ok(&v);
    assert!(stdout(&v).starts_with("jpki-sign "), "{}", stdout(&v));
    let o = Command::new("openssl")
        .args(["list", "-providers", "-provider", "jpki"])
        .env_remove("OPENSSL_MODULES")
        .env_remove("OPENSSL_CONF")
        .output()
        .expect("openssl");
    ok(&o);
    assert!(stdout(&o).contains("jpki"), "{}", stdout(&o));
    let o = Command::new("openssl")
        .args(["list", "-providers"])
        .env_remove("OPENSSL_MODULES")
        .env("OPENSSL_CONF", CONFFILES[0])
        .output()
        .expect("openssl");
    ok(&o);
    assert!(
        stdout(&o).contains("jpki") && stdout(&o).contains("default"),
        "{}",
        stdout(&o)
    );
    let man = Command::new("sh")
        .args([
            "-c",
            "gzip -dc /usr/share/man/man1/jpki-sign.1.gz | head -n 20",
        ])
        .output()
        .expect("gzip");
    assert!(stdout(&man).contains(".TH"), "man page: {}", stdout(&man));
    let bash = std::fs::read_to_string("/usr/share/bash-completion/completions/jpki-sign")
        .expect("bash completion");
    assert!(bash.contains("jpki-sign"));
    // The PKCS#11 module, registered with p11-kit (and harmless without a card).
    let o = Command::new("p11-kit")
        .arg("list-modules")
        .output()
        .expect("p11-kit");
    ok(&o);
    assert!(
        stdout(&o).contains("library-description: JPKI My Number card"),
        "{}",
        stdout(&o)
    );

    // dpkg -r: everything goes but the configuration files.
    let mut args = vec!["-r"];
    args.extend(installed.iter().copied());
    ok(&dpkg(&args));
    for f in files.iter().filter(|f| !existed.contains(*f)) {
        let conffile = CONFFILES.contains(&f.as_str()) || f == "/etc/jpki";
        assert_eq!(Path::new(f).exists(), conffile, "after dpkg -r: {f}");
    }
    assert_eq!(status("openssl-provider-jpki"), "deinstall ok config-files");

    // dpkg --purge: nothing of the packages is left.
    let mut args = vec!["--purge"];
    args.extend(installed.iter().copied());
    ok(&dpkg(&args));
    for f in files.iter().filter(|f| !existed.contains(*f)) {
        assert!(
            !Path::new(f).exists(),
            "left behind after dpkg --purge: {f}"
        );
    }
    for p in &installed {
        assert!(!present(&status(p)), "{p}: {}", status(p));
    }
}
