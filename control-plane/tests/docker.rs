//! The Docker runtime end to end against a real engine, with real PostgreSQL and a development
//! chain: the shared lifecycle scenario (`support::lifecycle`) with every node in a container,
//! then what is Docker's own: the image tagged by the binary's SHA-256 (earlier ones pruned), the container's labels,
//! limits, user and host networking, no secret in any label, a control plane that restarts
//! adopting the running containers (no duplicates), a cooperative created with
//! `"runtime": "docker"` under a `process` default, and nothing left after shutdown. Without an
//! engine the test is skipped with a message, or fails under `CI=true`.

mod support;

use bollard::query_parameters::{CreateImageOptionsBuilder, RemoveImageOptions};
use control_plane::model::RuntimeKind;
use control_plane::runtime::docker::instance_id;
use control_plane::runtime::image;
use control_plane::secrets::{random_hex, MasterKey};
use futures_util::StreamExt;
use reqwest::Method;
use support::lifecycle::{self, one, DockerNodes, Nodes};
use support::*;

#[tokio::test(flavor = "multi_thread")]
async fn docker_runtime_lifecycle_labels_limits_and_adoption() {
    let Some(docker) = docker_or_skip("docker_runtime_lifecycle_labels_limits_and_adoption").await
    else {
        return;
    };
    let chain = Chain::start().await;
    let admin_url = managed_pg::testing::admin_url().await;
    let state = managed_pg::testing::scratch_dir("mono-cp-docker");
    let master_key = random_hex(32).unwrap();
    let config_for = |cluster, runtime| {
        let mut config = service_config(admin_url.clone(), cluster, state.path(), &chain);
        config.master_key = MasterKey::from_hex(&master_key).unwrap();
        config.defaults.runtime = runtime;
        config
    };
    let nodes = DockerNodes {
        docker: docker.clone(),
        instance: instance_id(state.path()),
    };
    // An image of an earlier binary (pruned once the current one is imported), and no image of
    // the current binary yet, so this run imports it.
    let digest = image::file_sha256(&tenant_node_bin()).unwrap();
    let image_ref = image::image_ref(&digest);
    let _ = docker
        .remove_image(&image_ref, None::<RemoveImageOptions>, None)
        .await;
    let old_ref = image::image_ref("0000-earlier-binary");
    let old_tar = image::tarball(&[image::ImageFile {
        path: "/etc/passwd".into(),
        mode: 0o644,
        contents: b"root:x:0:0::/:/sbin/nologin\n".to_vec(),
    }])
    .unwrap();
    let options = CreateImageOptionsBuilder::new()
        .from_src("-")
        .repo(image::IMAGE_REPO)
        .tag("0000-earlier-binary")
        .build();
    let mut import = docker.create_image(
        Some(options),
        Some(bollard::body_full(old_tar.into())),
        None,
    );
    while let Some(step) = import.next().await {
        step.expect("import a stand-in earlier image");
    }

    let config = config_for(managed_pg::testing::cluster().await, RuntimeKind::Docker);
    let running = lifecycle::run(config, state.path(), &nodes).await;
    let api = running.api.clone();
    let row = api.show("coopb").await.unwrap();
    assert_eq!(row["runtime"], "docker", "the configured default: {row}");

    // The image is the binary's: tagged by its SHA-256, imported, never pulled; images of
    // earlier binaries that no container uses are removed.
    assert!(
        docker.inspect_image(&old_ref).await.is_err(),
        "earlier image pruned"
    );
    let img = docker.inspect_image(&image_ref).await.expect("node image");
    assert_eq!(
        img.config.and_then(|c| c.user).as_deref(),
        Some("10001:10001"),
        "the image runs as its non-root user"
    );

    // One labelled container per cooperative: limits, user, host network, read-only mount,
    // restart policy, and no secret in any label.
    let b = one(&nodes, "coopb").await;
    let inspect = docker.inspect_container(&b, None).await.unwrap();
    let config = inspect.config.clone().unwrap();
    let labels = config.labels.clone().unwrap();
    assert_eq!(labels["mono.coop"], "coopb");
    assert_eq!(labels["mono.managed-by"], "mono-control-plane");
    assert_eq!(config.image.as_deref(), Some(image_ref.as_str()));
    assert_eq!(config.user.as_deref(), Some("10001:10001"));
    let host = inspect.host_config.clone().unwrap();
    assert_eq!(host.network_mode.as_deref(), Some("host"));
    assert_eq!(
        host.memory,
        Some(1024 * 1024 * 1024),
        "memory_mb of the row"
    );
    assert_eq!(host.nano_cpus, Some(1_000_000_000));
    assert_eq!(host.readonly_rootfs, Some(true));
    assert_eq!(host.cap_drop, Some(vec!["ALL".to_owned()]));
    assert!(host
        .binds
        .unwrap()
        .iter()
        .any(|b| b.ends_with("/coops/coopb:/work:ro")));
    assert_eq!(
        host.restart_policy
            .and_then(|p| p.name)
            .map(|n| n.to_string()),
        Some("unless-stopped".to_owned())
    );
    let (status, secrets) = api
        .call(Method::GET, "/v1/cooperatives/coopb/secrets", None)
        .await;
    assert_eq!(status, 200);
    for key in ["db_password", "jwt_key", "admin_secret", "secret_key"] {
        let secret = secrets[key].as_str().unwrap();
        assert!(
            labels.values().all(|v| !v.contains(secret)),
            "{key} in a label"
        );
    }
    let secret_file = state.path().join("coops/coopb/secrets/jwt.key");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&secret_file).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "secret files are 0600");

    // A control plane that dies and starts again adopts the running containers.
    let c = one(&nodes, "coopc").await;
    running.service.detach().await;
    let config = config_for(managed_pg::testing::cluster().await, RuntimeKind::Process);
    let (service, api) = start_service(config).await;
    for (coop, before) in [("coopb", &b), ("coopc", &c)] {
        api.wait_ready(coop).await;
        assert_eq!(&one(&nodes, coop).await, before, "{coop} adopted");
        assert_eq!(
            nodes.leftovers(coop).await.len(),
            1,
            "no duplicate of {coop}"
        );
    }

    // Per cooperative: `runtime: docker` under a `process` default.
    let (status, row) = api
        .call(
            Method::POST,
            "/v1/cooperatives",
            Some(serde_json::json!({"coopname": "coopd", "runtime": "docker"})),
        )
        .await;
    assert_eq!(status, 201, "{row}");
    api.wait_ready("coopd").await;
    one(&nodes, "coopd").await;
    assert!(
        processes_in(&state.path().join("coops/coopd")).is_empty(),
        "coopd runs in its container, not as a child process"
    );
    let (_, logs) = api
        .call(Method::GET, "/v1/cooperatives/coopd/logs?lines=20", None)
        .await;
    assert!(
        !logs.as_str().unwrap_or_default().is_empty(),
        "container logs in node.log"
    );

    // Stopping the control plane stops and removes every container.
    service.shutdown().await.unwrap();
    for coop in ["coopb", "coopc", "coopd"] {
        assert!(nodes.leftovers(coop).await.is_empty(), "{coop} removed");
    }
}
