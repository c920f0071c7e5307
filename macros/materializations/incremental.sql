{#
  The `incremental` materialization, overriding dbt-spark's for one case: `insert_overwrite` into a
  partitioned parquet table (the score tables) swaps whole partitions by a metastore update, so a
  query never sees a partition half rewritten, missing or empty while dbt runs.

  dbt-spark runs `insert overwrite table ... partition (dt)`. Spark writes the new files to a
  staging folder and then, partition by partition, deletes the partition's folder and renames the
  staging one into its place: a query that lists the partition between the two sees no rows for
  that month (measured: a query loop through the Thrift server got a month missing), and one that
  listed the old files and reads them after the delete fails with FileNotFoundException.

  Here each run writes its partitions once, into a table of their own, `<name>__v<UTC timestamp>`
  (managed, so it owns its folder), and then points each of the target's partitions at its new
  folder with `alter table ... partition (...) set location` (or `add partition` for a new month):
  one metastore update per partition, atomic for a reader, which plans against either the old
  folder or the new one and finds every file it listed. The folders a run replaced are kept until
  the next run (queries still reading them finish), which drops the older ones: a version table
  loses the partitions nothing points at any more, and is dropped when none is left. A failed write
  changes no partition; a run that fails between two partition updates leaves every partition whole
  (some months new, some old), and a rerun completes it. The first build creates the table empty
  and fills it the same way, so every partition of it lives in a version table.

  Not atomic across partitions: a query over several months while a run switches them (a few
  metastore calls, milliseconds) can read some months of the new run and others of the previous
  one, each month whole. Other strategies, formats and tables with a `location_root` keep
  dbt-spark's own branches, unchanged (dbt submits a Python model only from the materialization
  at the top of the call stack, so they cannot be delegated to dbt-spark's macro).
#}
{% materialization incremental, adapter='spark', supported_languages=['sql', 'python'] -%}
  {%- set raw_file_format = config.get('file_format', default='parquet') -%}
  {%- set raw_strategy = config.get('incremental_strategy') or 'append' -%}
  {%- set grant_config = config.get('grants') -%}

  {%- set file_format = dbt_spark_validate_get_file_format(raw_file_format) -%}
  {%- set strategy = dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format) -%}

  {%- set unique_key = config.get('unique_key', none) -%}
  {%- set partition_by = config.get('partition_by', none) -%}
  {%- if partition_by is string -%}{%- set partition_by = [partition_by] -%}{%- endif -%}
  {%- set language = model['language'] -%}
  {%- set full_refresh_mode = should_full_refresh() -%}
  {%- set on_schema_change = incremental_validate_on_schema_change(config.get('on_schema_change'), default='ignore') -%}
  {%- set incremental_predicates = config.get('predicates', none) or config.get('incremental_predicates', none) -%}
  {%- set target_relation = this -%}
  {%- set existing_relation = load_relation(this) -%}
  {% set tmp_relation = this.incorporate(path = {"identifier": this.identifier ~ '__dbt_tmp'}) -%}
  {%- if language == 'sql'-%}
    {%- set tmp_relation = tmp_relation.include(database=false, schema=false) -%}
  {%- endif -%}
  {%- set swaps_partitions = strategy == 'insert_overwrite' and partition_by and file_format == 'parquet'
        and not config.get('location_root') and not (existing_relation is not none and (
          existing_relation.is_delta or existing_relation.is_iceberg or existing_relation.is_hudi)) -%}

  {%- if strategy in ['insert_overwrite', 'microbatch'] and partition_by -%}
    {%- call statement() -%}
      set spark.sql.sources.partitionOverwriteMode = DYNAMIC
    {%- endcall -%}
  {%- endif -%}

  {{ run_hooks(pre_hooks) }}

  {%- if swaps_partitions -%}
    {%- if existing_relation is not none and (existing_relation.is_view or should_full_refresh()) -%}
      {% do adapter.drop_relation(existing_relation) %}
      {%- set existing_relation = none -%}
    {%- endif -%}
    {%- call statement('create_tmp_relation', language=language) -%}
      {{ create_table_as(True, tmp_relation, compiled_code, language) }}
    {%- endcall -%}
    {%- if existing_relation is none -%}
      {#- the table, empty: its partitions come from version tables like every later run's -#}
      {%- call statement('create_empty_target') -%}
        create table {{ target_relation }}
        using parquet
        partitioned by ({{ partition_by | join(', ') }})
        as select * from {{ tmp_relation }} where false
      {%- endcall -%}
      {% do persist_constraints(target_relation, model) %}
    {%- else -%}
      {%- do process_schema_changes(on_schema_change, tmp_relation, existing_relation) -%}
    {%- endif -%}
    {%- do ridecredit_swap_partitions(tmp_relation, target_relation, partition_by) -%}
    {%- call statement('main') -%}
      refresh table {{ target_relation }}
    {%- endcall -%}
    {%- if language == 'python' -%}
      {% call statement('drop_relation') -%}
        drop table if exists {{ tmp_relation }}
      {%- endcall %}
    {%- endif -%}

  {#- dbt-spark 1.11's own branches, unchanged. They cannot be called as a macro: dbt submits a
      Python model only from the materialization at the top of the call stack. -#}
  {%- elif existing_relation is none -%}
    {%- call statement('main', language=language) -%}
      {{ create_table_as(False, target_relation, compiled_code, language) }}
    {%- endcall -%}
    {% do persist_constraints(target_relation, model) %}
  {%- elif existing_relation.is_view or should_full_refresh() -%}
    {% set is_delta = (file_format == 'delta' and existing_relation.is_delta) %}
    {% if not is_delta %}
      {% do adapter.drop_relation(existing_relation) %}
    {% endif %}
    {%- call statement('main', language=language) -%}
      {{ create_table_as(False, target_relation, compiled_code, language) }}
    {%- endcall -%}
    {% do persist_constraints(target_relation, model) %}
  {%- else -%}
    {%- call statement('create_tmp_relation', language=language) -%}
      {{ create_table_as(True, tmp_relation, compiled_code, language) }}
    {%- endcall -%}
    {%- do process_schema_changes(on_schema_change, tmp_relation, existing_relation) -%}
    {%- call statement('main') -%}
      {{ dbt_spark_get_incremental_sql(strategy, tmp_relation, target_relation, existing_relation, unique_key, incremental_predicates) }}
    {%- endcall -%}
    {%- if language == 'python' -%}
      {% call statement('drop_relation') -%}
        drop table if exists {{ tmp_relation }}
      {%- endcall %}
    {%- endif -%}
  {%- endif -%}

  {% set should_revoke = should_revoke(existing_relation, full_refresh_mode) %}
  {% do apply_grants(target_relation, grant_config, should_revoke) %}

  {% do persist_docs(target_relation, model) %}

  {{ run_hooks(post_hooks) }}

  {{ return({'relations': [target_relation]}) }}

{%- endmaterialization %}


{#- Write `source`'s rows to a new version table and point `target`'s partitions at its folders. -#}
{% macro ridecredit_swap_partitions(source, target, partition_by) %}
  {%- set target_columns = adapter.get_columns_in_relation(target) -%}
  {%- set stamp = modules.datetime.datetime.utcnow().strftime('%Y%m%d%H%M%S%f') -%}
  {%- set version = api.Relation.create(database=target.database, schema=target.schema,
        identifier=target.identifier ~ '__v' ~ stamp, type='table') -%}
  {%- call statement('write_version') -%}
    create table {{ version }}
    using parquet
    partitioned by ({{ partition_by | join(', ') }})
    as select {{ target_columns | map(attribute='quoted') | join(', ') }} from {{ source }}
  {%- endcall -%}
  {%- set version_location = ridecredit_location(version) -%}
  {%- set existing = run_query('show partitions ' ~ target).columns[0].values() | list -%}
  {%- set written = run_query('show partitions ' ~ version).columns[0].values() | list -%}
  {%- set replaced = {} -%}
  {%- for part in written -%}
    {%- set spec = ridecredit_partition_spec(part) -%}
    {%- if part in existing -%}
      {%- do replaced.update({part: ridecredit_location(target, spec)}) -%}
      {%- do run_query("alter table " ~ target ~ " partition (" ~ spec ~ ") set location '"
            ~ version_location ~ "/" ~ part ~ "'") -%}
    {%- else -%}
      {%- do run_query("alter table " ~ target ~ " add partition (" ~ spec ~ ") location '"
            ~ version_location ~ "/" ~ part ~ "'") -%}
    {%- endif -%}
  {%- endfor -%}
  {#- cleanup: keep what a partition points at now and what this run replaced; drop the rest -#}
  {%- set current = {} -%}
  {%- for row in run_query("show tables in " ~ target.schema ~ " like '" ~ target.identifier ~ "__v*'") -%}
    {%- set name = row[1] -%}
    {%- if name != version.identifier and modules.re.fullmatch(target.identifier ~ '__v[0-9]{20}', name) -%}
      {%- set old = api.Relation.create(database=target.database, schema=target.schema, identifier=name, type='table') -%}
      {%- set old_location = ridecredit_location(old) -%}
      {%- set old_parts = run_query('show partitions ' ~ old).columns[0].values() | list -%}
      {%- set stale = [] -%}
      {%- for part in old_parts -%}
        {%- if part not in written and part not in current -%}
          {%- do current.update({part: ridecredit_location(target, ridecredit_partition_spec(part))
                                 if part in existing else none}) -%}
        {%- endif -%}
        {%- set path = old_location ~ '/' ~ part -%}
        {%- if path != replaced.get(part) and path != current.get(part) -%}
          {%- do stale.append(part) -%}
        {%- endif -%}
      {%- endfor -%}
      {%- if stale | length == old_parts | length -%}
        {%- do run_query('drop table if exists ' ~ old) -%}
      {%- else -%}
        {%- for part in stale -%}
          {%- do run_query('alter table ' ~ old ~ ' drop if exists partition (' ~ ridecredit_partition_spec(part) ~ ')') -%}
        {%- endfor -%}
      {%- endif -%}
    {%- endif -%}
  {%- endfor -%}
{% endmacro %}


{#- `dt=2026-05-01/x=a` (as `show partitions` prints it) -> `dt='2026-05-01', x='a'` -#}
{% macro ridecredit_partition_spec(part) %}
  {%- if '%' in part or "'" in part -%}
    {{ exceptions.raise_compiler_error("partition " ~ part ~ ": values with escaped characters or quotes are not supported by the partition swap") }}
  {%- endif -%}
  {%- set pairs = [] -%}
  {%- for pair in part.split('/') -%}
    {%- set kv = pair.split('=', 1) -%}
    {%- do pairs.append(kv[0] ~ "='" ~ kv[1] ~ "'") -%}
  {%- endfor -%}
  {{ return(pairs | join(', ')) }}
{% endmacro %}


{#- The folder of a table, or of one of its partitions (`spec`), from `describe table extended`. -#}
{% macro ridecredit_location(relation, spec=none) %}
  {%- set sql = 'describe table extended ' ~ relation ~ (' partition (' ~ spec ~ ')' if spec else '') -%}
  {%- set section = '# Detailed Partition Information' if spec else '# Detailed Table Information' -%}
  {%- set state = namespace(inside=false, location=none) -%}
  {%- for row in run_query(sql) -%}
    {%- if row[0] == section -%}{%- set state.inside = true -%}{%- endif -%}
    {%- if state.inside and row[0] == 'Location' and state.location is none -%}
      {%- set state.location = row[1] -%}
    {%- endif -%}
  {%- endfor -%}
  {%- if state.location is none -%}
    {{ exceptions.raise_compiler_error("no location in `" ~ sql ~ "`") }}
  {%- endif -%}
  {{ return(state.location) }}
{% endmacro %}
