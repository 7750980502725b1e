//! Routes and wake with the real gateway (library form): the control plane publishes the route
//! table with `PUT /routes`; a request for a suspended cooperative is held by the gateway, which
//! calls the control plane's wake endpoint; the node starts and the held request is answered.

mod support;

use std::time::Duration;

use control_plane::service::GatewayTarget;
use gateway::routes::CoopState;
use managed_pg::testing::free_port;
use support::*;

async fn route_state(gw: &gateway::server::RunningGateway, coop: &str) -> Option<CoopState> {
    gw.gateway.routes.load().coop(coop).map(|r| r.state)
}

#[tokio::test(flavor = "multi_thread")]
async fn gateway_holds_a_request_for_a_suspended_coop_until_the_control_plane_wakes_it() {
    let chain = Chain::start().await;
    let admin_url = managed_pg::testing::admin_url().await;
    let cluster = managed_pg::testing::cluster().await;
    let state = managed_pg::testing::scratch_dir("mono-cp-wake");
    let cp_port = free_port();

    let mut config = service_config(admin_url, cluster, state.path(), &chain);
    config.listen = format!("127.0.0.1:{cp_port}").parse().unwrap();
    let wake_token = config.wake_token.clone().unwrap();
    let toml = format!(
        "listen = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\nbase_domain = \"coops.test\"\n\
         [timeouts]\nhold_ms = 60000\n\
         [wake]\ncontrol_plane_url = \"http://127.0.0.1:{cp_port}\"\nretry_ms = 1000\n"
    );
    let mut gw_config = gateway::config::Config::from_toml(&toml).unwrap();
    gw_config.admin_token = Some("gateway-admin-token".into());
    if let Some(wake) = gw_config.wake.as_mut() {
        wake.token = Some(wake_token);
    }
    let gw = gateway::server::start(gw_config).await.unwrap();
    config.gateway = Some(GatewayTarget {
        admin_url: format!("http://{}", gw.admin_addr.unwrap()),
        admin_token: "gateway-admin-token".into(),
    });
    let (service, api) = start_service(config).await;

    api.create("wakey").await;
    api.wait_ready("wakey").await;
    wait_for(60, "ready route published", || async {
        (route_state(&gw, "wakey").await == Some(CoopState::Ready)).then_some(())
    })
    .await;
    let http = reqwest::Client::new();
    let through_gateway = || {
        http.get(format!("http://{}/readyz", gw.addr))
            .header("host", "wakey.coops.test")
            .timeout(Duration::from_secs(90))
            .send()
    };
    assert_eq!(through_gateway().await.unwrap().status(), 200);

    api.call(
        reqwest::Method::POST,
        "/v1/cooperatives/wakey/suspend",
        None,
    )
    .await;
    wait_for(60, "suspended route published", || async {
        (route_state(&gw, "wakey").await == Some(CoopState::Suspended)).then_some(())
    })
    .await;
    assert!(
        processes_in(&state.path().join("coops/wakey")).is_empty(),
        "node stopped"
    );

    // The gateway holds this request, wakes the cooperative through the control plane and
    // forwards it once the node is ready.
    let response = through_gateway().await.expect("held request answered");
    assert_eq!(response.status(), 200);
    let row = api.show("wakey").await.unwrap();
    assert_eq!(row["desired_state"], "running", "woken by the gateway");

    // The wake endpoint refuses callers without a token.
    let anonymous = reqwest::Client::new()
        .post(format!("{}/v1/cooperatives/wakey/wake", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    service.shutdown().await.unwrap();
    gw.shutdown().await;
}
