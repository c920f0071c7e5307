{#
    unique_combination_of_columns: no two rows share the same values of all the columns in
    `combination_of_columns` (a list); returns each repeated combination with its row count.

    Null semantics (as dbt_utils.unique_combination_of_columns): `group by` puts nulls
    together, so two rows with the same values and a null in the same column are duplicates
    and fail, e.g. (1, null) twice. quote_columns=true quotes each name with adapter.quote.

    `where`: in YAML (under config: or arguments:) dbt turns it into the test's where config
    and filters `model` before this SQL runs; the argument applies the same filter when the
    test macro is called directly.
#}
{% test unique_combination_of_columns(model, combination_of_columns, quote_columns=false, where=none) %}
    {%- set columns = [combination_of_columns] if combination_of_columns is string else combination_of_columns -%}
    {%- if columns | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "unique_combination_of_columns on " ~ model ~ ": combination_of_columns is empty"
        ) }}
    {%- endif -%}
    {%- set column_list = [] -%}
    {%- for column in columns -%}
        {%- do column_list.append(adapter.quote(column) if quote_columns else column) -%}
    {%- endfor -%}
    {%- set columns_csv = column_list | join(", ") %}

select
    {{ columns_csv }},
    count(*) as n_rows
from {{ model }}
{%- if where %}
where {{ where }}
{%- endif %}
group by {{ columns_csv }}
having count(*) > 1

{% endtest %}
