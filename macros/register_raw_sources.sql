{#
  Create (or re-create) the raw source tables over the landing parquet files.

  The schema comes from the source definitions (columns + `external` blocks in
  models/staging/platform/_platform__sources.yml), so the yml is the one contract.
  Partitions are discovered with `msck repair table`. Run it after new files land:

      dbt run-operation register_raw_sources
#}
{% macro register_raw_sources(sources=['platform', 'oracle']) %}
    {%- for node in graph.sources.values() if node.source_name in sources and node.external and node.external.location -%}
        {%- set partitions = node.external.partitions or [] -%}
        {%- set partition_names = partitions | map(attribute='name') | list -%}
        {%- set relation = api.Relation.create(schema=node.schema, identifier=node.identifier) -%}
        {%- set column_sql -%}
            {%- for name, column in node.columns.items() if name not in partition_names -%}
                {{ name }} {{ column.data_type }}{{ ", " if not loop.last }}
            {%- endfor -%}
            {%- for partition in partitions -%}, {{ partition.name }} {{ partition.data_type }}{%- endfor -%}
        {%- endset -%}
        {% do run_query("create schema if not exists " ~ node.schema) %}
        {% do run_query("drop table if exists " ~ relation) %}
        {% do run_query(
            "create table " ~ relation ~ " (" ~ column_sql ~ ") using " ~ (node.external.using or 'parquet')
            ~ (" partitioned by (" ~ partition_names | join(', ') ~ ")" if partitions else "")
            ~ " location '" ~ node.external.location ~ "'"
        ) %}
        {% if partitions %}{% do run_query("msck repair table " ~ relation) %}{% endif %}
        {%- set count = run_query("select count(*) from " ~ relation).columns[0].values()[0] -%}
        {{ log("registered " ~ relation ~ " (" ~ count ~ " rows) <- " ~ node.external.location, info=true) }}
    {%- endfor -%}
{% endmacro %}
