//! The `hvp` binary end to end: the README's job, config errors, the benchmark's JSON.

use std::process::Command;

fn hvp() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hvp"))
}

fn tmp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("hvp-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn backends() -> Vec<&'static str> {
    let mut b = vec!["cpu"];
    if std::env::var("HVP_REQUIRE_GPU").as_deref() == Ok("1")
        || !hvp::gpu::list_adapters().is_empty()
    {
        b.push("gpu");
    } else {
        eprintln!("\n!!!!!!!! SKIPPED: no GPU adapter; the CLI is tested on the CPU backend only !!!!!!!!\n");
    }
    b
}

#[test]
fn poisson_demo_runs_and_is_accurate_on_each_backend() {
    for backend in backends() {
        let out = tmp_dir(&format!("poisson-{backend}"));
        let status = hvp()
            .args([
                "--backend",
                backend,
                "run",
                "configs/poisson_periodic_3d.toml",
            ])
            .args(["--set", "grid.n=[16,32,8]", "--set", "reps=2", "--out"])
            .arg(&out)
            .status()
            .unwrap();
        assert!(status.success(), "{backend}: hvp run failed");
        let result: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("poisson.json")).unwrap())
                .unwrap();
        let err = result["rel_l2_error"].as_f64().unwrap();
        let tol = if backend == "cpu" { 1e-12 } else { 1e-5 };
        assert!(err < tol, "{backend}: relative error {err:e}");
        assert_eq!(result["config"]["grid"]["n"][1], 32);
    }
}

#[test]
fn config_mistakes_are_clear_errors() {
    let out = tmp_dir("bad");
    let run = |extra: &[&str]| {
        let o = hvp()
            .args([
                "--backend",
                "cpu",
                "run",
                "configs/poisson_periodic_3d.toml",
                "--out",
            ])
            .arg(&out)
            .args(extra)
            .output()
            .unwrap();
        assert!(!o.status.success(), "{extra:?} should fail");
        String::from_utf8_lossy(&o.stderr).to_string()
    };
    assert!(run(&["--set", "grid.nx=64"]).contains("unknown field `nx`"));
    assert!(run(&["--set", "kind=vlasov-typo"]).contains("unknown job kind"));
    assert!(run(&["--set", "grid.length=[1.0]"]).contains("same number"));
    let o = hvp().args(["run", "does/not/exist.toml"]).output().unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("reading config"));
}

#[test]
fn bench_fft_writes_json_with_both_backends() {
    let out = tmp_dir("bench");
    std::fs::create_dir_all(&out).unwrap();
    let file = out.join("fft.json");
    let status = hvp()
        .args([
            "bench",
            "fft",
            "--max-mib",
            "1",
            "--seconds",
            "0.01",
            "--out",
        ])
        .arg(&file)
        .status()
        .unwrap();
    assert!(status.success());
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    for backend in backends() {
        let mine: Vec<_> = cases.iter().filter(|c| c["backend"] == backend).collect();
        assert!(mine.len() >= 8, "{backend}: {} cases", mine.len());
        for c in mine {
            assert!(c["ratio"].as_f64().unwrap() > 0.0);
            assert!(c["copy_gb_per_s"].as_f64().unwrap() > 0.0);
        }
    }
}

#[test]
fn adapters_lists_limits() {
    let o = hvp().args(["adapters", "--json"]).output().unwrap();
    assert!(o.status.success());
    let list: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for a in list.as_array().unwrap() {
        assert!(a["max_storage_binding_bytes"].as_u64().unwrap() > 0);
        assert!(a["max_workgroup_storage_bytes"].as_u64().unwrap() > 0);
    }
}

#[test]
fn without_any_adapter_the_job_falls_back_to_the_cpu_with_one_line() {
    let out = tmp_dir("fallback");
    // Hide the Vulkan drivers and the EGL vendors from the loaders.
    let o = hvp()
        .env("VK_ICD_FILENAMES", "/nonexistent/icd.json")
        .env("__EGL_VENDOR_LIBRARY_FILENAMES", "/nonexistent/egl.json")
        .args([
            "run",
            "configs/poisson_periodic_3d.toml",
            "--set",
            "grid.n=[8,8,8]",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success());
    let stdout = String::from_utf8_lossy(&o.stdout);
    if stdout.contains("GPU backend") {
        eprintln!("\n!!!!!!!! SKIPPED: the loaders still found an adapter; CPU fallback NOT tested !!!!!!!!\n");
        return;
    }
    let stderr = String::from_utf8_lossy(&o.stderr);
    let notices: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("running on the CPU backend"))
        .collect();
    assert_eq!(notices.len(), 1, "{stderr}");
    assert!(stdout.contains("CPU backend"), "{stdout}");
}
