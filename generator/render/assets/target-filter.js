// The target filter of the spec document and the matrix: choosing a target hides every element
// that belongs to another target (`data-target`). Inlined by viommu render.
/* global document */
{
  const select = document.getElementById('target-filter');
  const apply = () => {
    for (const element of document.querySelectorAll('[data-target]')) {
      const other = select.value !== '' && element.dataset.target !== select.value;
      element.classList.toggle('filtered-out', other);
    }
  };
  select.addEventListener('change', apply);
  apply();
}
