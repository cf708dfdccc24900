use super::*;

#[test]
fn an_evaluation_lists_variants_without_weights() {
    let variants =
        parse_unweighted("catalog-v2, cues-v1@accounts/x/models/y:7, describe-v1").unwrap();
    let got: Vec<_> = variants
        .iter()
        .map(|v| (v.name, v.model.as_deref(), v.weight))
        .collect();
    assert_eq!(
        got,
        [
            ("catalog-v2", None, 34),
            ("cues-v1", Some("accounts/x/models/y"), 33),
            ("describe-v1", None, 33)
        ]
    );
    assert!(parse_unweighted("nope").unwrap_err().contains("`nope`"));
}

fn catalog() -> Vec<CatalogEntry> {
    vec![CatalogEntry {
        id: "leg_press".into(),
        name: "Seated Leg Press".into(),
        synonyms: vec!["sled press".into()],
        visual_cues: vec!["angled sled".into()],
    }]
}

#[test]
fn every_builder_lists_the_catalog_and_asks_for_json() {
    for b in &BUILDERS {
        let prompt = b.system_prompt(&catalog());
        assert!(
            prompt.contains("Seated Leg Press: sled press"),
            "{}",
            b.name
        );
        assert!(prompt.contains("\"machine\""), "{}", b.name);
        assert_eq!(
            prompt.contains("angled sled"),
            b.name != "catalog-v2",
            "{}",
            b.name
        );
    }
}

#[test]
fn specs_name_known_variants_once_with_weights_of_100() {
    let v = parse("catalog-v2:80, cues-v1@accounts/fireworks/models/other:20").unwrap();
    assert_eq!(
        v[1].model.as_deref(),
        Some("accounts/fireworks/models/other")
    );
    assert_eq!(parse("describe-v1").unwrap()[0].weight, 100);
    for bad in [
        "",
        "nope:100",
        "catalog-v2:50",
        "catalog-v2:x",
        "cues-v1@:100",
        "catalog-v2:50,catalog-v2:50",
    ] {
        assert!(parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn assignment_is_deterministic_and_follows_the_weights() {
    let variants = parse("catalog-v2:80,cues-v1:20").unwrap();
    let mut counts = [0; 2];
    for i in 0..10_000 {
        let key = format!("user-{i}");
        let first = assign("exp", &key, &variants);
        assert_eq!(first, assign("exp", &key, &variants));
        counts[usize::from(first.name == "cues-v1")] += 1;
    }
    assert!((7_600..=8_400).contains(&counts[0]), "{counts:?}");
    // Another experiment deals again.
    let moved = (0..1000)
        .filter(|i| {
            let key = format!("user-{i}");
            assign("exp", &key, &variants) != assign("exp-2", &key, &variants)
        })
        .count();
    assert!(moved > 100, "{moved}");
}
