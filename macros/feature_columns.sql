{#
  numeric_feature_columns(relation, exclude): the numeric columns of a built relation.
  PSI, preprocessing parameters and feature selection all take their feature list from the
  columns of features.user_month_features, so a new feature column is picked up everywhere.
#}
{% macro numeric_feature_columns(relation, exclude=[]) %}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {%- set numeric_types = ['tinyint', 'smallint', 'int', 'bigint', 'float', 'double'] -%}
    {%- set names = [] -%}
    {%- for column in adapter.get_columns_in_relation(relation) -%}
        {%- set dtype = column.dtype | lower -%}
        {%- if (dtype in numeric_types or dtype.startswith('decimal')) and column.name not in exclude -%}
            {%- do names.append(column.name) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(names) }}
{% endmacro %}

{#
  unpivot_features(relation, columns, key_columns): one row per key and feature, with the
  value as a double, so every feature is binned and summarised by the same query.
#}
{% macro unpivot_features(relation, columns, key_columns) -%}
    select
        {%- for key in key_columns %}
        {{ key }},
        {%- endfor %}
        stack(
            {{ columns | length }},
            {%- for name in columns %}
            '{{ name }}', cast({{ name }} as double){{ "," if not loop.last }}
            {%- endfor %}
        ) as (feature_name, value)
    from {{ relation }}
{%- endmacro %}
