{#
  The `table` materialization for parquet tables, overriding dbt-spark's for this project:
  a failed rebuild keeps the last good table.

  dbt-spark drops a parquet table and then runs `create table ... as select`, so a query that
  fails (a bad cast, a missing column, an executor lost) leaves no table at all. Here the new
  table is written to its own location first, under `<name>__dbt_new`, and only then swapped
  in with two metadata renames (old -> `<name>__dbt_old`, new -> `<name>`) before the old one is
  dropped. A failed build stops before any rename: the previous table is untouched, and the
  half-written `__dbt_new` is dropped by the next run. A rename of a managed table in this
  warehouse moves its folder, which on the local or HDFS file system is a metadata operation.
  Cost: the same write, plus two renames and the drop of the old table after the swap instead
  of before (a transient extra copy of the table on disk).

  Delta, Iceberg and Hudi tables (`create or replace`), tables with a `location_root` (whose
  folder is named after the model) and Python models keep dbt-spark's path.
#}
{% materialization table, adapter = 'spark', supported_languages=['sql', 'python'] %}
  {%- set language = model['language'] -%}
  {%- set identifier = model['alias'] -%}
  {%- set file_format = config.get('file_format', validator=validation.any[basestring]) -%}
  {%- set old_relation = adapter.get_relation(database=database, schema=schema, identifier=identifier) -%}
  {#- with location_root the folder is named after the model, so a second location is not possible -#}
  {%- if language != 'sql' or file_format in ('delta', 'iceberg', 'hudi') or config.get('location_root') -%}
    {{ return(_spark_table_drop_then_create(old_relation)) }}
  {%- endif -%}
  {%- set grant_config = config.get('grants') -%}
  {%- set target_relation = api.Relation.create(
      identifier=identifier, schema=schema, database=database, type='table') -%}
  {%- set new_relation = api.Relation.create(
      identifier=identifier ~ '__dbt_new', schema=schema, database=database, type='table') -%}
  {%- set backup_relation = api.Relation.create(
      identifier=identifier ~ '__dbt_old', schema=schema, database=database, type='table') -%}

  {{ run_hooks(pre_hooks) }}

  -- leftovers of an interrupted run
  {{ adapter.drop_relation(new_relation) }}
  {{ adapter.drop_relation(backup_relation) }}

  -- build into the new location; a failure here leaves the old table as it was
  {%- call statement('main', language=language) -%}
    {{ create_table_as(False, new_relation, compiled_code, language) }}
  {%- endcall -%}

  -- swap
  {% if old_relation is not none %}
    {{ adapter.rename_relation(old_relation, backup_relation.incorporate(type=old_relation.type)) }}
  {% endif %}
  {{ adapter.rename_relation(new_relation, target_relation) }}
  {% if old_relation is not none %}
    {{ adapter.drop_relation(backup_relation.incorporate(type=old_relation.type)) }}
  {% endif %}

  {% set should_revoke = should_revoke(old_relation, full_refresh_mode=True) %}
  {% do apply_grants(target_relation, grant_config, should_revoke) %}
  {% do persist_docs(target_relation, model) %}
  {% do persist_constraints(target_relation, model) %}

  {{ run_hooks(post_hooks) }}

  {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}

{#- dbt-spark's own path (drop, then create), for Python models and table formats with `create or replace`. -#}
{% macro _spark_table_drop_then_create(old_relation) %}
  {%- set language = model['language'] -%}
  {%- set grant_config = config.get('grants') -%}
  {%- set target_relation = api.Relation.create(
      identifier=model['alias'], schema=schema, database=database, type='table') -%}
  {{ run_hooks(pre_hooks) }}
  {%- set file_format = config.get('file_format', validator=validation.any[basestring]) -%}
  {%- set keeps_table = old_relation is not none and (
      (old_relation.is_delta and file_format == 'delta') or (old_relation.is_iceberg and file_format == 'iceberg')) -%}
  {% if not keeps_table %}
    {{ adapter.drop_relation(target_relation.incorporate(type=old_relation.type if old_relation is not none else 'table')) }}
  {% endif %}
  {%- call statement('main', language=language) -%}
    {{ create_table_as(False, target_relation, compiled_code, language) }}
  {%- endcall -%}
  {% set should_revoke = should_revoke(old_relation, full_refresh_mode=True) %}
  {% do apply_grants(target_relation, grant_config, should_revoke) %}
  {% do persist_docs(target_relation, model) %}
  {% do persist_constraints(target_relation, model) %}
  {{ run_hooks(post_hooks) }}
  {{ return({'relations': [target_relation]}) }}
{% endmacro %}
