//! MachineMate API: the backend of the MachineMate app.

pub mod auth;
pub mod catalog;
pub mod config;
pub mod db;
pub mod deadline;
pub mod domain;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod identification;
pub mod maintain;
pub mod openapi;
pub mod routes;
pub mod security;
pub mod startup;
pub mod state;
pub mod storage;
pub mod telemetry;
pub mod vision;
