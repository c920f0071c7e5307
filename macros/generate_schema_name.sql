{#
  Layers land in schemas named after them (staging, intermediate, features, labels,
  monitoring, preprocessing, scores) so analysts query e.g. `features.user_month_features`.
  Set RIDECREDIT_SCHEMA_PREFIX (e.g. `dev_ana_`) to build a private copy of every schema.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set prefix = env_var('RIDECREDIT_SCHEMA_PREFIX', '') -%}
    {%- if custom_schema_name is none -%}
        {{ prefix }}{{ target.schema }}
    {%- else -%}
        {{ prefix }}{{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
