//! Reading upstream feeds as they really are (placeholder; being written).
