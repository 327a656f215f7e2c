"""Client/Database parity: the store's own API tests, run again through a real server.

The tests are imported from tests/test_store_api.py and tests/test_store_query.py, not
copied; here the ``db`` fixture is an :class:`embedlab.Client` of a real uvicorn server over
a fresh database, and ``col`` the same three-row collection as in conftest.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from embedlab import Client
from embedlab.server import create_app
from embedlab.server.client import RemoteCollection
from embedlab.store import Database
from server_helpers import running
from store_api_helpers import DIM
from test_store_api import (  # noqa: F401 - collected here, with this module's fixtures
    test_add_round_trip,
    test_bad_collection_names,
    test_bad_dimension,
    test_bad_index_params,
    test_bad_model_name,
    test_bad_per_query_search_params,
    test_create_existing_name_is_refused,
    test_create_get_list_delete,
    test_default_include_is_metadata_and_documents,
    test_delete_by_document,
    test_delete_by_ids_where_and_both,
    test_delete_with_nothing_is_refused,
    test_deleted_id_can_be_added_again,
    test_get_limit_and_offset,
    test_get_or_create_creates_then_returns_the_same,
    test_get_or_create_index_params_mismatch,
    test_get_or_create_settings_mismatch,
    test_get_orders_by_ids_then_by_insertion,
    test_hamming_dimension_must_be_whole_bytes,
    test_include_variants,
    test_index_params_defaults_and_overrides,
    test_longest_name_and_unicode_are_fine,
    test_metric_not_supported_by_kind,
    test_unknown_include_lists_valid_ones,
    test_unknown_index_kind_lists_valid_ones,
    test_unknown_metric_lists_valid_ones,
    test_update_merges_metadata_and_none_removes_a_key,
    test_update_metadata_that_is_not_json_is_refused,
    test_update_unknown_id_changes_nothing,
    test_update_vectors_and_documents_keeps_metadata,
    test_upsert_replaces_vector_metadata_and_document,
)
from test_store_maintenance_api import test_index_maintenance_round  # noqa: F401
from test_store_query import (  # noqa: F401
    test_add_of_existing_ids_names_them_and_adds_nothing,
    test_bad_filters_are_typed,
    test_bad_ids,
    test_bad_k,
    test_batch_lengths_must_agree,
    test_duplicate_ids_in_one_batch,
    test_float_distances_equal_numpy,
    test_hamming_distances_count_bits,
    test_k_larger_than_count_returns_all,
    test_len_follows_writes,
    test_match_iteration,
    test_max_distance_keeps_only_within,
    test_metadata_that_is_not_json,
    test_model_mismatch_on_writes_and_queries,
    test_non_finite_vectors,
    test_query_on_empty_collection_is_refused,
    test_query_shapes,
    test_results_are_frozen,
    test_vectors_of_wrong_type_or_shape,
    test_where_and_where_document_together,
    test_wrong_dimension,
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real server for the module (its database is emptied after each test)."""
    database = Database(tmp_path_factory.mktemp("parity") / "db")
    with running(create_app(database, {})) as url:
        yield url


@pytest.fixture
def db(server: str) -> Iterator[Client]:
    """A Client of the server, its database empty (overrides conftest's ``db``)."""
    with Client(server) as client:
        yield client
        for info in client.list_collections():
            client.delete_collection(info.name)


@pytest.fixture
def col(db: Client) -> RemoteCollection:
    """conftest's three-row collection, made through the Client."""
    collection = db.create_collection("c", dim=DIM, metric="euclidean", index="flat", model="m1")
    collection.add(
        ids=["a", "b", "c"],
        vectors=[[0, 0, 0, 0], [1, 0, 0, 0], [0, 3, 4, 0]],
        metadata=[{"g": 1, "t": "x"}, {"g": 2, "t": "y"}, {"g": 1}],
        documents=["red apple", "green pear", None],
    )
    return collection
