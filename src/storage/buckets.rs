//! The buckets and their rules, and where a user's upload lives: a key derived from
//! the user and the asset, never read from a record; or, for what the FastAPI backend
//! stored, a key inside the user's own folder.

/// A bucket's rules, as the migrations configure them in Supabase.
pub struct BucketRules {
    pub name: &'static str,
    pub public: bool,
    pub max_bytes: u64,
    pub content_types: &'static [&'static str],
}

pub const USER_UPLOADS: BucketRules = BucketRules {
    name: "user-uploads",
    public: false,
    max_bytes: 10 * 1024 * 1024,
    content_types: &["image/png", "image/jpeg", "image/webp"],
};
pub const MACHINES: BucketRules = BucketRules {
    name: "machines",
    public: true,
    max_bytes: 5 * 1024 * 1024,
    content_types: &["image/png", "image/jpeg", "image/webp"],
};
pub const TUTORIALS: BucketRules = BucketRules {
    name: "tutorials",
    public: false,
    max_bytes: 100 * 1024 * 1024,
    content_types: &["video/mp4", "video/quicktime"],
};

/// Every bucket the service uses (the local S3 store of `scripts/dev` makes them).
pub const BUCKETS: [&BucketRules; 3] = [&USER_UPLOADS, &MACHINES, &TUTORIALS];

pub fn bucket(name: &str) -> Option<&'static BucketRules> {
    BUCKETS.into_iter().find(|b| b.name == name)
}

/// The file extension stored objects of this type get.
pub fn extension(content_type: &str) -> &'static str {
    match content_type {
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/webp" => "webp",
        "video/mp4" => "mp4",
        "video/quicktime" => "mov",
        _ => "bin",
    }
}

/// The key of a user's own upload in `user-uploads`, `{user_id}/{asset_id}.{ext}`, built
/// from who is asking and the asset's id, with an extension its type allows (`jpg`, or
/// the FastAPI backend's `jpeg`). The asset's recorded path is only compared with it:
/// a record that names anything else (written through some other door) names no object,
/// so nothing but the caller's own upload is ever read, signed or deleted for it.
pub fn own_upload_key(
    user: uuid::Uuid,
    asset: uuid::Uuid,
    content_type: &str,
    recorded: &str,
) -> Option<String> {
    let extensions: &[&str] = match content_type {
        "image/jpeg" => &["jpg", "jpeg"],
        "image/png" => &["png"],
        "image/webp" => &["webp"],
        _ => &[],
    };
    extensions
        .iter()
        .map(|ext| format!("{user}/{asset}.{ext}"))
        .find(|key| key == recorded)
}

/// `key` when it names an object inside `user`'s own folder of `user-uploads`
/// (`{user_id}/...`): no empty, `.` or `..` part, no backslash or control character, which
/// some stores and file systems read as separators. The delete-by-path route takes such a
/// key from the caller; the FastAPI backend's photo records hold such keys
/// (`media_legacy_keys`).
pub fn own_folder_key(user: uuid::Uuid, key: &str) -> Option<String> {
    let rest = key.strip_prefix(&format!("{user}/"))?;
    let inside = !rest.is_empty()
        && !key.contains('\\')
        && !key.chars().any(char::is_control)
        && !rest
            .split('/')
            .any(|part| part == ".." || part == "." || part.is_empty());
    inside.then(|| key.to_owned())
}

/// Where a presigned upload lands before `complete` checks it: `{user_id}/incoming/
/// {asset_id}.{ext}`. Only this key is ever signed for a PUT; `complete` copies what
/// passed its checks to the asset's own key, which no URL can write, so whatever the
/// URL receives later (another file, after the record or the account is gone) never
/// replaces the photo and is swept by `machinemate-api maintain`.
pub fn staging_key(user: uuid::Uuid, asset: uuid::Uuid, content_type: &str) -> String {
    format!("{user}/incoming/{asset}.{}", extension(content_type))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upload_key_is_derived_never_taken_from_the_record() {
        let (user, other, asset) = (
            uuid::Uuid::new_v4(),
            uuid::Uuid::new_v4(),
            uuid::Uuid::new_v4(),
        );
        let own = format!("{user}/{asset}.jpg");
        assert_eq!(
            own_upload_key(user, asset, "image/jpeg", &own),
            Some(own.clone())
        );
        let legacy = format!("{user}/{asset}.jpeg");
        assert_eq!(
            own_upload_key(user, asset, "image/jpeg", &legacy),
            Some(legacy)
        );
        for forged in [
            "leg_press/hero.jpg".to_owned(),
            format!("{user}/../{other}/{asset}.jpg"),
            format!("{other}/{asset}.jpg"),
            format!("{user}/{}.jpg", uuid::Uuid::new_v4()),
            format!("{user}/{asset}.png"),
        ] {
            assert_eq!(
                own_upload_key(user, asset, "image/jpeg", &forged),
                None,
                "{forged}"
            );
        }
        assert_eq!(
            own_upload_key(user, asset, "video/mp4", &format!("{user}/{asset}.mp4")),
            None
        );
    }

    #[test]
    fn a_key_in_ones_own_folder_is_any_path_under_it_without_dot_or_empty_parts() {
        let (user, other) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
        for own in [
            format!("{user}/IMG_0042.JPG"),
            format!("{user}/{other}.heic"),
            format!("{user}/{other}"),
            format!("{user}/camera/2025/photo.jpeg"),
        ] {
            assert_eq!(own_folder_key(user, &own), Some(own.clone()));
        }
        for outside in [
            format!("{other}/x.jpg"),
            format!("{user}/"),
            format!("{user}"),
            format!("{user}/../{other}/x.jpg"),
            format!("{user}/./x.jpg"),
            format!("{user}//x.jpg"),
            format!("{user}/a\\..\\b.jpg"),
            format!("{user}/x\n.jpg"),
            format!("prefix/{user}/x.jpg"),
        ] {
            assert_eq!(own_folder_key(user, &outside), None, "{outside:?}");
        }
    }
}
