// The core plugin: the tables every agent uses (docs: ../shared/design/core-schema.md). It has no
// behaviour of its own; other plugins reference its tables.
#include <plinth/plinth.hpp>

namespace {

using namespace plinth::columns;
using plinth::fk_action;
using plinth::index;

constexpr auto cascade = fk_action::cascade;
constexpr auto set_null = fk_action::set_null;

plinth::plugin describe() {
    return plinth::plugin("core", "1.0.0")
        .table(plinth::table("agents", {
            uuid("id").primary_key().default_random(),
            text("name").not_null(),
            text("username").unique(),
            boolean("enabled").not_null().default_value(true),
            jsonb("bio").not_null().default_empty_array(),
            jsonb("settings").not_null().default_empty_object(),
            timestamptz("created_at").not_null().default_now(),
            timestamptz("updated_at").not_null().default_now(),
        }))
        .table(plinth::table("entities", {
            uuid("id").primary_key(),
            uuid("agent_id").not_null().references("agents", "id", cascade),
            text("names").array().not_null().default_empty_array(),
            jsonb("metadata").not_null().default_empty_object(),
            timestamptz("created_at").not_null().default_now(),
        }).unique({"id", "agent_id"}).add(index({"agent_id"})))
        .table(plinth::table("rooms", {
            uuid("id").primary_key().default_random(),
            uuid("agent_id").references("agents", "id", cascade),
            text("source").not_null(),
            text("type").not_null(),
            text("name"),
            text("channel_id"),
            jsonb("metadata"),
            timestamptz("created_at").not_null().default_now(),
        }).add(index({"agent_id"})))
        .table(plinth::table("participants", {
            uuid("id").primary_key().default_random(),
            uuid("entity_id").not_null().references("entities", "id", cascade),
            uuid("room_id").not_null().references("rooms", "id", cascade),
            uuid("agent_id").references("agents", "id", cascade),
            text("room_state"),
            timestamptz("created_at").not_null().default_now(),
        }).unique({"entity_id", "room_id"}).add(index({"room_id"})))
        .table(plinth::table("memories", {
            uuid("id").primary_key().default_random(),
            text("type").not_null(),
            jsonb("content").not_null(),
            uuid("entity_id").references("entities", "id", cascade),
            uuid("agent_id").not_null().references("agents", "id", cascade),
            uuid("room_id").references("rooms", "id", cascade),
            boolean("unique").not_null().default_value(true),
            jsonb("metadata").not_null().default_empty_object(),
            timestamptz("created_at").not_null().default_now(),
        })
            .add(index({"type", "room_id"}))
            .add(index({"(metadata->>'type')"}).named("memories_metadata_type_idx"))
            .check("memories_fragment_metadata_check",
                   "CASE WHEN metadata->>'type' = 'fragment' "
                   "THEN metadata ? 'documentId' AND metadata ? 'position' ELSE true END"))
        .table(plinth::table("embeddings", {
            uuid("id").primary_key().default_random(),
            uuid("memory_id").not_null().references("memories", "id", cascade),
            vector("dim_384", 384),
            vector("dim_512", 512),
            vector("dim_768", 768),
            vector("dim_1024", 1024),
            vector("dim_1536", 1536),
            vector("dim_3072", 3072),
            timestamptz("created_at").not_null().default_now(),
        })
            .add(index({"memory_id"}))
            // Cosine similarity search per size. pgvector's HNSW indexes vector up to 2000 dimensions,
            // so the 3072 one indexes the column cast to halfvec (up to 4000).
            .add(index({"dim_384"}).hnsw("vector_cosine_ops"))
            .add(index({"dim_512"}).hnsw("vector_cosine_ops"))
            .add(index({"dim_768"}).hnsw("vector_cosine_ops"))
            .add(index({"dim_1024"}).hnsw("vector_cosine_ops"))
            .add(index({"dim_1536"}).hnsw("vector_cosine_ops"))
            .add(index({"(dim_3072::halfvec(3072))"}).named("embeddings_dim_3072_idx").hnsw("halfvec_cosine_ops"))
            .check("embeddings_has_vector_check",
                   "dim_384 IS NOT NULL OR dim_512 IS NOT NULL OR dim_768 IS NOT NULL OR dim_1024 IS NOT NULL OR "
                   "dim_1536 IS NOT NULL OR dim_3072 IS NOT NULL"))
        .table(plinth::table("relationships", {
            uuid("id").primary_key().default_random(),
            uuid("source_entity_id").not_null().references("entities", "id", cascade),
            uuid("target_entity_id").not_null().references("entities", "id", cascade),
            uuid("agent_id").not_null().references("agents", "id", cascade),
            text("tags").array(),
            jsonb("metadata"),
            timestamptz("created_at").not_null().default_now(),
        })
            .unique({"source_entity_id", "target_entity_id", "agent_id"})
            .check("relationships_no_self_check", "source_entity_id <> target_entity_id"))
        .table(plinth::table("messages", {
            uuid("id").primary_key().default_random(),
            uuid("room_id").not_null().references("rooms", "id", cascade),
            uuid("author_id").references("entities", "id", set_null),
            text("content").not_null(),
            uuid("in_reply_to").references("messages", "id", set_null),
            jsonb("metadata"),
            timestamptz("created_at").not_null().default_now(),
        }).add(index({"room_id", "created_at"})))
        .table(plinth::table("logs", {
            uuid("id").primary_key().default_random(),
            uuid("entity_id").not_null().references("entities", "id", cascade),
            uuid("room_id").references("rooms", "id", cascade),
            text("type").not_null(),
            jsonb("body").not_null(),
            timestamptz("created_at").not_null().default_now(),
        }).add(index({"type", "created_at"})))
        .table(plinth::table("cache", {
            text("key").not_null(),
            uuid("agent_id").not_null().references("agents", "id", cascade),
            jsonb("value").not_null(),
            timestamptz("created_at").not_null().default_now(),
            timestamptz("expires_at"),
        }).primary_key({"key", "agent_id"}))
        .table(plinth::table("tasks", {
            uuid("id").primary_key().default_random(),
            uuid("agent_id").not_null().references("agents", "id", cascade),
            uuid("room_id").references("rooms", "id", set_null),
            text("name").not_null(),
            text("description"),
            text("tags").array().not_null().default_empty_array(),
            jsonb("metadata").not_null().default_empty_object(),
            text("status").not_null().default_value("pending"),
            timestamptz("created_at").not_null().default_now(),
            timestamptz("updated_at").not_null().default_now(),
        })
            .add(index({"agent_id", "status"}))
            .check("tasks_status_check", "status IN ('pending', 'running', 'done', 'failed')"));
}

}  // namespace

PLINTH_PLUGIN(describe)
