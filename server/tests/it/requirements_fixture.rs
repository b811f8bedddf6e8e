//! The real pip-compile output of openedx-platform (../shared/fixtures/requirements).

use unthread_server::pypi::requirements::{Requirements, Via};

fn fixture() -> Requirements {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/fixtures/requirements/openedx-platform-base.txt");
    std::fs::read_to_string(path).expect("../shared beside the checkout").parse().unwrap()
}

#[test]
fn openedx_base_requirements_parse_completely() {
    let reqs = fixture();
    let by_version = reqs.pins.iter().filter(|p| p.scannable_by_version()).count();
    let direct: Vec<&str> = reqs.pins.iter().filter(|p| p.direct_url.is_some()).map(|p| p.name.as_str()).collect();
    assert_eq!(by_version, 300, "the fixture's README counts 300 pins");
    assert_eq!(direct, ["xblock", "xblocks-contrib"]);
    assert_eq!(reqs.pin("django").unwrap().version.as_deref(), Some("5.2.12"));
}

#[test]
fn via_graph_matches_the_file() {
    let reqs = fixture();
    let crum = reqs.pin("django-crum").unwrap();
    for parent in ["edx-django-utils", "edx-proctoring", "edx-toggles", "edx-enterprise", "edx-rbac"] {
        assert!(crum.via.contains(&Via::Package(parent.into())), "{parent} pulls in django-crum: {:?}", crum.via);
    }
    assert!(crum.via.contains(&Via::Requirement("requirements/edx/kernel.in".into())));
    let edges = reqs.edges();
    assert!(edges.contains(&("edx-django-utils", "django-crum")));
    assert!(edges.contains(&("aiohttp", "aiohappyeyeballs")));
    // Every package named in a `# via` is itself pinned in the file.
    for (parent, _) in &edges {
        assert!(reqs.pin(parent).is_some(), "{parent} is named in a via but not pinned");
    }
}
