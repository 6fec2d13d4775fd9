export function mount(body){}
