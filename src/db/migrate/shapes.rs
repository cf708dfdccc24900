//! The tables and columns that tell the database's shape apart: ours, or the FastAPI
//! backend's (`docs/cutover.md`), with the columns the cutover's copy reads.

/// Tables the migrations create in `public`; any of them present without the record
/// of this service's migrations needs a closer look.
pub(super) const OUR_TABLES: [&str; 14] = [
    "users",
    "machines",
    "favorites",
    "history",
    "media_assets",
    "identification_events",
    "identification_corrections",
    "sync_tombstones",
    "catalog_state",
    "machine_audit",
    "idempotency_keys",
    "app_secrets",
    "identification_quota",
    "identification_ip_quota",
];

/// The FastAPI backend's columns that the cutover reads, with the types it accepts
/// (`information_schema.columns.data_type`). The first four tables are required; the
/// media and identification tables came later and are copied when present.
pub(super) const FASTAPI_COLUMNS: &[(&str, &[(&str, &str)])] = &[
    (
        "users",
        &[
            ("id", "uuid"),
            ("email", "text|character varying"),
            ("display_name", "text|character varying"),
            ("avatar_url", "text|character varying"),
            ("preferences", "jsonb|json"),
            ("metadata", "jsonb|json"),
            ("created_at", "timestamp with time zone"),
            ("updated_at", "timestamp with time zone"),
        ],
    ),
    (
        "machines",
        &[
            ("id", "text|character varying"),
            ("name", "text|character varying"),
            ("category", "text|character varying"),
            ("difficulty", "text|character varying"),
            ("primary_muscles", "ARRAY"),
            ("secondary_muscles", "ARRAY"),
            ("equipment_type", "text|character varying"),
            ("setup_steps", "jsonb"),
            ("how_to_steps", "jsonb"),
            ("common_mistakes", "jsonb"),
            ("safety_tips", "jsonb"),
            ("beginner_tips", "jsonb"),
            ("thumbnail_url", "text|character varying"),
            ("image_url", "text|character varying"),
            ("video_url", "text|character varying"),
            ("muscle_diagram_url", "text|character varying"),
            ("tags", "ARRAY"),
            ("metadata", "jsonb"),
            ("is_active", "boolean"),
            ("created_at", "timestamp with time zone"),
            ("updated_at", "timestamp with time zone"),
        ],
    ),
    (
        "favorites",
        &[
            ("user_id", "uuid"),
            ("machine_id", "text|character varying"),
            ("created_at", "timestamp with time zone"),
            ("notes", "text|character varying"),
        ],
    ),
    (
        "history",
        &[
            ("id", "uuid"),
            ("user_id", "uuid"),
            ("machine_id", "text|character varying"),
            ("confidence", "numeric|real|double precision"),
            ("source", "text|character varying"),
            ("taken_at", "timestamp with time zone"),
            ("created_at", "timestamp with time zone"),
            ("photo_uri", "text|character varying"),
        ],
    ),
    (
        "media_assets",
        &[
            ("id", "uuid"),
            ("asset_type", "text|character varying"),
            ("content_type", "text|character varying"),
            ("file_size", "bigint|integer"),
            ("bucket_name", "text|character varying"),
            ("storage_path", "text|character varying"),
            ("user_id", "uuid"),
            ("machine_id", "text|character varying"),
            ("created_at", "timestamp with time zone"),
            ("updated_at", "timestamp with time zone"),
        ],
    ),
    (
        "identification_events",
        &[
            ("id", "uuid"),
            ("trace_id", "text|character varying"),
            ("user_id", "uuid"),
            ("machine_predicted", "text|character varying"),
            ("confidence", "numeric|real|double precision"),
            ("prompt_variant", "text|character varying"),
            ("raw_machine", "text|character varying"),
            ("match_score", "numeric|real|double precision"),
            ("unmapped", "boolean"),
            ("model", "text|character varying"),
            ("image_size_bytes", "integer|bigint"),
            ("processing_time_ms", "integer|bigint"),
            ("created_at", "timestamp with time zone"),
        ],
    ),
    (
        "identification_corrections",
        &[
            ("id", "uuid"),
            ("event_id", "uuid"),
            ("user_id", "uuid"),
            ("machine_selected", "text|character varying"),
            ("correction_source", "text|character varying"),
            ("time_to_correction_ms", "integer|bigint"),
            ("created_at", "timestamp with time zone"),
        ],
    ),
];
pub(super) const FASTAPI_REQUIRED_TABLES: usize = 4;

/// Columns of `FASTAPI_COLUMNS` that tell the shape apart but that the copy leaves in the
/// archive (this service keeps no such field).
pub(super) const NOT_CARRIED: &[(&str, &str)] = &[("users", "metadata")];
