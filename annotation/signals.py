from django.dispatch import Signal

# Sent after the transaction that created or changed products has committed.
# Keyword argument: product_ids (list[int]). The queue gives them entries here;
# the training app scores them with the active model.
products_changed = Signal()
