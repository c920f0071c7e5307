{#
  assert_landing_schema(source_name, table_name): the landing files of a raw source match the
  column contract of models/staging/platform/_platform__sources.yml, checked file by file
  when the base model over it compiles, so a structural problem stops that model (and
  everything downstream) before its materialization touches the previous table.
    - a contract column missing from a file: error (Spark would silently read it as null);
    - a column whose type differs from the contract: error (Spark would fail mid-query, or
      cast);
    - a column the contract does not know: warning, the column is ignored.
  The error names the file, the column, the expected and the actual type. Partition columns
  come from the folder names and are not in the files. Each file's schema is read from its
  parquet footer (`describe query ... parquet.<file>`), not from its rows.
#}
{% macro assert_landing_schema(source_name, table_name) %}
    {#- nothing to read at parse time, nor in sqlfluff's lint context, which has no graph -#}
    {%- if not execute or graph is not defined -%}{{ return('') }}{%- endif -%}
    {%- set node = graph.sources['source.' ~ project_name ~ '.' ~ source_name ~ '.' ~ table_name] -%}
    {%- set partitions = (node.external.partitions or []) | map(attribute='name') | list -%}
    {%- set expected = {} -%}
    {%- for name, column in node.columns.items() if name not in partitions -%}
        {%- do expected.update({name | lower: column.data_type | lower}) -%}
    {%- endfor -%}
    {%- set relation = source(source_name, table_name) -%}
    {%- set files = run_query(
        "select distinct _metadata.file_path as file_path from " ~ relation ~ " order by file_path"
    ).columns[0].values() -%}
    {%- set problems = [] -%}
    {%- for file in files -%}
        {%- set described = run_query("describe query select * from parquet.`" ~ file ~ "`") -%}
        {%- set actual = {} -%}
        {%- for row in described.rows -%}
            {%- do actual.update({row[0] | lower: row[1] | lower}) -%}
        {%- endfor -%}
        {%- for name, data_type in expected.items() -%}
            {%- if name not in actual -%}
                {%- do problems.append(file ~ ": column " ~ name ~ " is missing (expected " ~ data_type ~ ")") -%}
            {%- elif actual[name] != data_type -%}
                {%- do problems.append(
                    file ~ ": column " ~ name ~ " has type " ~ actual[name] ~ ", expected " ~ data_type
                ) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- for name, data_type in actual.items() if name not in expected and name not in partitions -%}
            {{ log(
                "WARNING landing schema of " ~ source_name ~ "." ~ table_name ~ ": " ~ file ~ ": column "
                ~ name ~ " (" ~ data_type ~ ") is not in the source contract and is ignored",
                info=true
            ) }}
        {%- endfor -%}
    {%- endfor -%}
    {%- if problems -%}
        {{ exceptions.raise_compiler_error(
            "landing files of " ~ source_name ~ "." ~ table_name ~ " do not match the column contract in "
            ~ "models/staging/platform/_platform__sources.yml (no table was changed):\n  "
            ~ problems | join("\n  ")
            ~ "\nFix or remove the file, then rerun `dbt run-operation register_raw_sources` and the build."
        ) }}
    {%- endif -%}
{% endmacro %}
